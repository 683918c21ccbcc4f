// Conversions between UTF-8 byte offsets (what the Rust backend reports) and
// JavaScript string indices (UTF-16 code units).

export type Range = [number, number];

/** Number of bytes the code point takes in UTF-8. Lone surrogates count as U+FFFD (3 bytes). */
export function utf8Width(codePoint: number): number {
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  if (codePoint < 0x10000) return 3;
  return 4;
}

/** Byte length of `text` encoded as UTF-8 (same result as TextEncoder). */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    bytes += utf8Width(cp);
    i += cp > 0xffff ? 2 : 1;
  }
  return bytes;
}

/**
 * Character boundaries of `text`: parallel arrays of the byte offset and the
 * UTF-16 index at which each code point starts, plus a final entry for the end.
 */
function boundaries(text: string): { bytes: number[]; units: number[] } {
  const bytes: number[] = [];
  const units: number[] = [];
  let b = 0;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    bytes.push(b);
    units.push(i);
    b += utf8Width(cp);
    i += cp > 0xffff ? 2 : 1;
  }
  bytes.push(b);
  units.push(text.length);
  return { bytes, units };
}

/** Index of the last boundary whose byte offset is <= `byte`. */
function floorBoundary(bytes: number[], byte: number): number {
  let lo = 0;
  let hi = bytes.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (bytes[mid] <= byte) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Index of the first boundary whose byte offset is >= `byte`. */
function ceilBoundary(bytes: number[], byte: number): number {
  let lo = 0;
  let hi = bytes.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bytes[mid] >= byte) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Convert one UTF-8 byte offset to a string index (offsets inside a character snap back to its start). */
export function byteOffsetToIndex(text: string, byte: number): number {
  const { bytes, units } = boundaries(text);
  const clamped = Math.max(0, Math.min(byte, bytes[bytes.length - 1]));
  return units[floorBoundary(bytes, clamped)];
}

/**
 * Convert [start, end) UTF-8 byte ranges into [start, end) string-index ranges.
 *
 * Robust against whatever arrives over IPC: non-numbers and empty/inverted
 * ranges are dropped, offsets are clamped to the text, an offset that falls
 * inside a multi-byte character widens the range to cover the whole
 * character, and the output is sorted with overlapping/adjacent ranges merged.
 */
export function byteRangesToIndexRanges(
  text: string,
  ranges: ReadonlyArray<ReadonlyArray<number>> | null | undefined,
): Range[] {
  if (!ranges || ranges.length === 0 || text.length === 0) return [];
  const { bytes, units } = boundaries(text);
  const total = bytes[bytes.length - 1];
  const out: Range[] = [];
  for (const r of ranges) {
    if (!r || r.length < 2) continue;
    let [s, e] = r;
    if (!Number.isFinite(s) || !Number.isFinite(e)) continue;
    s = Math.max(0, Math.min(Math.floor(s), total));
    e = Math.max(0, Math.min(Math.ceil(e), total));
    if (e <= s) continue;
    const start = units[floorBoundary(bytes, s)];
    const end = units[ceilBoundary(bytes, e)];
    if (end > start) out.push([start, end]);
  }
  return mergeRanges(out);
}

/** Sort ranges and merge the ones that overlap or touch. */
export function mergeRanges(ranges: Range[]): Range[] {
  const sorted = ranges
    .filter(([s, e]) => e > s)
    .map(([s, e]) => [s, e] as Range)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else out.push(r);
  }
  return out;
}

/** Inverse helper, used by the browser demo backend and tests: string index -> UTF-8 byte offset. */
export function indexToByteOffset(text: string, index: number): number {
  return utf8ByteLength(text.slice(0, Math.max(0, Math.min(index, text.length))));
}
