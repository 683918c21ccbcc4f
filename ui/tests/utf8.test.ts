import { describe, expect, it } from "vitest";
import {
  byteOffsetToIndex,
  byteRangesToIndexRanges,
  indexToByteOffset,
  mergeRanges,
  utf8ByteLength,
} from "../src/utf8";

const enc = new TextEncoder();

/** Byte range of the first occurrence of `needle` in `text`, computed with TextEncoder. */
function bytesOf(text: string, needle: string): [number, number] {
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`${needle} not in ${text}`);
  const start = enc.encode(text.slice(0, i)).length;
  return [start, start + enc.encode(needle).length];
}

function sliceAll(text: string, ranges: [number, number][]): string[] {
  return ranges.map(([s, e]) => text.slice(s, e));
}

describe("utf8ByteLength", () => {
  it("matches TextEncoder for ASCII, 2-, 3- and 4-byte characters", () => {
    for (const s of ["", "abc", "café", "日本語", "😀", "a😀b€c", "Ωmega 🚀🚀 über"]) {
      expect(utf8ByteLength(s)).toBe(enc.encode(s).length);
    }
  });
});

describe("byteRangesToIndexRanges", () => {
  it("is the identity for ASCII", () => {
    expect(byteRangesToIndexRanges("hello world", [[6, 11]])).toEqual([[6, 11]]);
  });

  it("converts offsets after 2-byte characters (é)", () => {
    const text = "café crème brûlée";
    const ranges = byteRangesToIndexRanges(text, [bytesOf(text, "crème"), bytesOf(text, "brûlée")]);
    expect(sliceAll(text, ranges)).toEqual(["crème", "brûlée"]);
    // Naively using byte offsets as string indices would be off by one here.
    expect(ranges[0]).toEqual([5, 10]);
  });

  it("converts offsets after 3-byte CJK characters", () => {
    const text = "東京の天気は晴れ, weather in Tokyo";
    const ranges = byteRangesToIndexRanges(text, [bytesOf(text, "天気"), bytesOf(text, "Tokyo")]);
    expect(sliceAll(text, ranges)).toEqual(["天気", "Tokyo"]);
  });

  it("handles 4-byte characters that are surrogate pairs in JS (emoji)", () => {
    const text = "🚀 launch 😀 party 🎉";
    const r = byteRangesToIndexRanges(text, [bytesOf(text, "party"), bytesOf(text, "😀")]);
    expect(sliceAll(text, r)).toEqual(["😀", "party"]);
    // "🚀 " is 5 bytes but 3 UTF-16 code units.
    expect(byteRangesToIndexRanges(text, [[5, 11]])).toEqual([[3, 9]]);
  });

  it("highlights a multi-byte character itself", () => {
    const text = "x€y";
    expect(sliceAll(text, byteRangesToIndexRanges(text, [[1, 4]]))).toEqual(["€"]);
  });

  it("widens offsets that fall inside a character to the whole character", () => {
    const text = "a😀b";
    // 😀 occupies bytes 1..5; [2, 3) is in the middle of it.
    const r = byteRangesToIndexRanges(text, [[2, 3]]);
    expect(sliceAll(text, r)).toEqual(["😀"]);
    // Never splits a surrogate pair.
    for (const [s, e] of r) {
      expect(text.charCodeAt(s) >= 0xdc00 && text.charCodeAt(s) <= 0xdfff).toBe(false);
      expect(text.charCodeAt(e - 1) >= 0xd800 && text.charCodeAt(e - 1) <= 0xdbff).toBe(false);
    }
  });

  it("clamps out-of-range offsets and drops empty, inverted or junk ranges", () => {
    const text = "naïve"; // 6 bytes
    expect(byteRangesToIndexRanges(text, [[3, 999]])).toEqual([[2, 5]]);
    expect(byteRangesToIndexRanges(text, [[-5, 1]])).toEqual([[0, 1]]);
    expect(byteRangesToIndexRanges(text, [[4, 4], [5, 2], [NaN, 3], [100, 200]])).toEqual([]);
    expect(byteRangesToIndexRanges(text, null)).toEqual([]);
    expect(byteRangesToIndexRanges("", [[0, 3]])).toEqual([]);
  });

  it("sorts and merges overlapping or touching ranges", () => {
    const text = "abcdefghij";
    expect(byteRangesToIndexRanges(text, [[6, 8], [0, 2], [1, 3], [3, 4]])).toEqual([
      [0, 4],
      [6, 8],
    ]);
    expect(mergeRanges([[5, 6], [1, 2], [2, 3]])).toEqual([
      [1, 3],
      [5, 6],
    ]);
  });

  it("round-trips random mixed-script text against TextEncoder", () => {
    const alphabet = ["a", "Z", " ", "é", "ß", "Ж", "€", "語", "한", "😀", "🎉", "𝄞", "\n"];
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let iter = 0; iter < 200; iter++) {
      const chars = Array.from({ length: 1 + rand(30) }, () => alphabet[rand(alphabet.length)]);
      const text = chars.join("");
      const i = rand(chars.length);
      const j = i + 1 + rand(chars.length - i);
      const sIdx = chars.slice(0, i).join("").length;
      const eIdx = chars.slice(0, j).join("").length;
      const sByte = enc.encode(text.slice(0, sIdx)).length;
      const eByte = enc.encode(text.slice(0, eIdx)).length;
      expect(indexToByteOffset(text, sIdx)).toBe(sByte);
      expect(byteOffsetToIndex(text, sByte)).toBe(sIdx);
      expect(byteRangesToIndexRanges(text, [[sByte, eByte]])).toEqual([[sIdx, eIdx]]);
    }
  });
});
