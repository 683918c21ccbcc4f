// Rendering of search results. File content is untrusted: it only ever
// reaches the DOM as Text nodes (textContent / createTextNode), and highlights
// are <mark> elements built with createElement.

import type { Passage, SearchResult } from "./api";
import { h, icon } from "./dom";
import { displayLocation, extension, formatLocator } from "./format";
import { groupOf, OTHER_GROUP_ID } from "./kinds";
import { byteRangesToIndexRanges, type Range } from "./utf8";

export const MAX_PASSAGE_CHARS = 360;

export interface ClippedPassage {
  text: string;
  ranges: Range[];
  /** The answering sentences, clipped like `ranges` (null when there are none or they were cut away). */
  answer: Range | null;
  clippedStart: boolean;
  clippedEnd: boolean;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * Cut a long passage down to about `maxChars`, keeping the answering sentences
 * (else the first highlight) in view with some leading context. Cuts prefer
 * whitespace and never split a surrogate pair. Ranges are string indices and
 * are shifted/clipped to match.
 */
export function clipPassage(
  text: string,
  ranges: Range[],
  maxChars = MAX_PASSAGE_CHARS,
  answer: Range | null = null,
): ClippedPassage {
  if (text.length <= maxChars) return { text, ranges, answer, clippedStart: false, clippedEnd: false };

  const anchor = answer ? answer[0] : ranges.length ? ranges[0][0] : 0;
  const lead = Math.floor(maxChars / 4);
  let start = Math.max(0, Math.min(anchor - lead, text.length - maxChars));
  let end = Math.min(text.length, start + maxChars);

  // Prefer to start right after a space and to stop right before one.
  const SNAP = 24;
  if (start > 0) {
    const ws = text.slice(start, Math.min(start + SNAP, anchor)).search(/\s/);
    if (ws >= 0) start += ws + 1;
  }
  if (end < text.length) {
    const from = Math.max(end - SNAP, start + 1);
    const tail = text.slice(from, end);
    let lastWs = -1;
    for (let i = tail.length - 1; i >= 0; i--) {
      if (/\s/.test(tail[i])) {
        lastWs = i;
        break;
      }
    }
    const keepUntil = answer ? Math.min(answer[1], start + maxChars) : ranges.length ? ranges[0][1] : 0;
    if (lastWs >= 0 && from + lastWs >= keepUntil) end = from + lastWs;
  }
  if (start > 0 && start < text.length && isLowSurrogate(text.charCodeAt(start))) start++;
  if (end < text.length && end > 0 && isHighSurrogate(text.charCodeAt(end - 1))) end--;

  const clipped = sliceRanges(ranges, start, end);
  const clippedAnswer = answer ? (sliceRanges([answer], start, end)[0] ?? null) : null;
  return {
    text: text.slice(start, end),
    ranges: clipped,
    answer: clippedAnswer,
    clippedStart: start > 0,
    clippedEnd: end < text.length,
  };
}

/** The parts of `ranges` inside [start, end), shifted to start at 0. */
function sliceRanges(ranges: Range[], start: number, end: number): Range[] {
  const out: Range[] = [];
  for (const [s, e] of ranges) {
    const cs = Math.max(s, start);
    const ce = Math.min(e, end);
    if (ce > cs) out.push([cs - start, ce - start]);
  }
  return out;
}

/**
 * Text with highlights, and the answering sentences (if any) wrapped in a
 * `<span class="answer">` that keeps their own highlights inside.
 */
export function answerFragment(text: string, ranges: Range[], answer: Range | null): DocumentFragment {
  if (!answer || answer[1] <= answer[0]) return highlightFragment(text, ranges);
  const [a, b] = [Math.max(0, answer[0]), Math.min(text.length, answer[1])];
  const frag = document.createDocumentFragment();
  frag.appendChild(highlightFragment(text.slice(0, a), sliceRanges(ranges, 0, a)));
  const span = document.createElement("span");
  span.className = "answer";
  span.appendChild(highlightFragment(text.slice(a, b), sliceRanges(ranges, a, b)));
  frag.appendChild(span);
  frag.appendChild(highlightFragment(text.slice(b), sliceRanges(ranges, b, text.length)));
  return frag;
}

/** Text with [start, end) string-index ranges wrapped in <mark>. Ranges must be sorted and disjoint. */
export function highlightFragment(text: string, ranges: Range[]): DocumentFragment {
  const frag = document.createDocumentFragment();
  let pos = 0;
  for (const [s, e] of ranges) {
    const start = Math.max(s, pos);
    const end = Math.min(e, text.length);
    if (end <= start) continue;
    if (start > pos) frag.appendChild(document.createTextNode(text.slice(pos, start)));
    const mark = document.createElement("mark");
    mark.appendChild(document.createTextNode(text.slice(start, end)));
    frag.appendChild(mark);
    pos = end;
  }
  if (pos < text.length) frag.appendChild(document.createTextNode(text.slice(pos)));
  return frag;
}

/** A passage element: byte-offset highlights converted, clipped and rendered safely. */
export function renderPassage(passage: Passage, maxChars = MAX_PASSAGE_CHARS): HTMLParagraphElement {
  const text = typeof passage.text === "string" ? passage.text : "";
  const ranges = byteRangesToIndexRanges(text, passage.highlights);
  const answer = passage.answer ? (byteRangesToIndexRanges(text, [passage.answer])[0] ?? null) : null;
  const clip = clipPassage(text, ranges, maxChars, answer);
  const p = h("p", { class: "passage" });
  if (clip.clippedStart) p.appendChild(h("span", { class: "ellipsis", text: "…" }));
  p.appendChild(answerFragment(clip.text, clip.ranges, clip.answer));
  if (clip.clippedEnd) p.appendChild(h("span", { class: "ellipsis", text: "…" }));
  return p;
}

/** Badge colour class: pdf, text, doc (other documents), code or other. */
export function kindClass(ext: string): string {
  if (ext === "") return "other";
  const g = groupOf(ext);
  if (g === "pdf" || g === "text" || g === "code") return g;
  if (g === OTHER_GROUP_ID) return "other";
  return "doc";
}

export function resultId(index: number): string {
  return `result-${index}`;
}

/** One search result as a listbox option. */
export function renderResult(result: SearchResult, index: number): HTMLLIElement {
  const ext = extension(result.fileName || result.path);
  const locator = formatLocator(result.passage, ext);
  const location = displayLocation(result.path, result.folder);

  const openBtn = h(
    "button",
    { class: "result-action", title: "Open (Enter)", attrs: { type: "button", "data-action": "open", tabindex: "-1" } },
    icon("open"),
    h("span", { class: "label", text: "Open" }),
  );
  const revealBtn = h(
    "button",
    {
      class: "result-action",
      title: "Show in folder (Ctrl/⌘+Enter)",
      attrs: { type: "button", "data-action": "reveal", tabindex: "-1" },
    },
    icon("reveal"),
    h("span", { class: "label", text: "Show in folder" }),
  );

  const li = h(
    "li",
    {
      id: resultId(index),
      // Loose matches are drawn quieter (older responses without `strength` count as strong).
      class: result.strength === "weak" || result.strength === "unrelated" ? "result loose" : "result",
      attrs: { role: "option", "aria-selected": "false", "data-testid": "result" },
      data: { index: String(index), path: result.path, strength: result.strength ?? "strong" },
    },
    h(
      "div",
      { class: "result-head" },
      h("span", { class: `kind-badge kind-${kindClass(ext)}`, text: ext ? ext.slice(0, 4).toUpperCase() : "FILE", attrs: { "aria-hidden": "true" } }),
      h("span", { class: "result-name", text: result.fileName || result.path, title: result.path }),
      locator ? h("span", { class: "result-locator", text: locator, title: locator }) : null,
      h("span", { class: "result-actions" }, openBtn, revealBtn),
    ),
    h("div", { class: "result-folder", text: location, title: result.path }),
    result.passage ? renderPassage(result.passage) : null,
  );
  return li;
}
