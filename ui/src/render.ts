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
 * Cut a long passage down to about `maxChars`, keeping the first highlight in
 * view with some leading context. Cuts prefer whitespace and never split a
 * surrogate pair. Ranges are string indices and are shifted/clipped to match.
 */
export function clipPassage(text: string, ranges: Range[], maxChars = MAX_PASSAGE_CHARS): ClippedPassage {
  if (text.length <= maxChars) return { text, ranges, clippedStart: false, clippedEnd: false };

  const anchor = ranges.length ? ranges[0][0] : 0;
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
    const keepUntil = ranges.length ? ranges[0][1] : 0;
    if (lastWs >= 0 && from + lastWs >= keepUntil) end = from + lastWs;
  }
  if (start > 0 && start < text.length && isLowSurrogate(text.charCodeAt(start))) start++;
  if (end < text.length && end > 0 && isHighSurrogate(text.charCodeAt(end - 1))) end--;

  const clipped: Range[] = [];
  for (const [s, e] of ranges) {
    const cs = Math.max(s, start);
    const ce = Math.min(e, end);
    if (ce > cs) clipped.push([cs - start, ce - start]);
  }
  return { text: text.slice(start, end), ranges: clipped, clippedStart: start > 0, clippedEnd: end < text.length };
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
  const clip = clipPassage(text, ranges, maxChars);
  const p = h("p", { class: "passage" });
  if (clip.clippedStart) p.appendChild(h("span", { class: "ellipsis", text: "…" }));
  p.appendChild(highlightFragment(clip.text, clip.ranges));
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
