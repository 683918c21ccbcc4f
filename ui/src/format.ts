// Small, pure formatting helpers.

import type { Confidence, Location } from "./api";
import { errorMessage } from "./errors";
import { isLineAddressable } from "./kinds";

const numberFormat = new Intl.NumberFormat();

export function formatCount(n: number): string {
  return numberFormat.format(Math.max(0, Math.round(n || 0)));
}

export function plural(n: number, one: string, many: string = one + "s"): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/** "less than a minute left", "~4 min left", "~2 h 5 min left"; "" when unknown. */
export function formatEta(secs: number | null | undefined): string {
  if (secs === null || secs === undefined || !Number.isFinite(secs) || secs < 0) return "";
  if (secs < 60) return "less than a minute left";
  const mins = Math.round(secs / 60);
  if (mins < 60) return `~${mins} min left`;
  const h = Math.floor(mins / 60);
  const m = mins % 60;
  return m === 0 ? `~${h} h left` : `~${h} h ${m} min left`;
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** Split a path on either separator (the backend may run on Windows). */
export function pathParts(path: string): string[] {
  return path.split(/[\\/]+/).filter((p) => p.length > 0);
}

export function basename(path: string): string {
  const parts = pathParts(path);
  return parts.length ? parts[parts.length - 1] : path;
}

/** Lowercase extension without the dot, or "" when there is none. */
export function extension(fileName: string): string {
  const name = basename(fileName);
  const dot = name.lastIndexOf(".");
  return dot > 0 && dot < name.length - 1 ? name.slice(dot + 1).toLowerCase() : "";
}

/**
 * Where a result lives, for display: the folder's own name followed by the
 * subdirectories between it and the file, e.g. "Notes › 2024 › meetings".
 */
export function displayLocation(path: string, folder: string): string {
  const folderParts = pathParts(folder);
  const fileParts = pathParts(path);
  const inside =
    folderParts.length > 0 &&
    folderParts.length < fileParts.length &&
    folderParts.every((p, i) => p === fileParts[i]);
  const dirs = inside ? fileParts.slice(folderParts.length, -1) : [];
  const root = folderParts.length ? folderParts[folderParts.length - 1] : basename(folder) || folder;
  if (!inside && folder === "") {
    return fileParts.slice(0, -1).join(" › ");
  }
  return [root, ...dirs].join(" › ");
}

export interface LocatorInput {
  line?: number | null;
  page?: number | null;
  location?: Location | null;
}

const MAX_LOCATOR_TEXT = 60;

/** A name, title or subject from a file, made safe to show on one line: no control or bidi-override characters,
 * whitespace collapsed, at most `max` characters (code points) with an ellipsis. */
export function oneLine(text: unknown, max = MAX_LOCATOR_TEXT): string {
  if (typeof text !== "string") return "";
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, " ").replace(/\s+/g, " ").trim();
  const chars = Array.from(clean);
  return chars.length > max ? chars.slice(0, max - 1).join("").trimEnd() + "…" : clean;
}

function positive(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n > 0;
}

/**
 * Where a passage sits, for display: "page 12", "slide 4", "sheet Budget", "chapter “Storm”",
 * "message 3 · Subject"; "line 42" only for plain text and code (`ext` of the file), where line numbers mean
 * something to the reader; "" when there is nothing to say.
 */
export function formatLocator(passage: LocatorInput | null | undefined, ext = ""): string {
  if (!passage) return "";
  const loc = passage.location;
  if (loc && typeof loc === "object" && positive(loc.number)) {
    switch (loc.unit) {
      case "page":
        return `page ${loc.number}`;
      case "slide":
        return `slide ${loc.number}`;
      case "sheet": {
        const name = oneLine(loc.name);
        return name ? `sheet ${name}` : `sheet ${loc.number}`;
      }
      case "chapter": {
        const title = oneLine(loc.title);
        return title ? `chapter “${title}”` : `chapter ${loc.number}`;
      }
      case "message": {
        const subject = oneLine(loc.subject);
        return subject ? `message ${loc.number} · ${subject}` : `message ${loc.number}`;
      }
    }
  }
  if (positive(passage.page)) return `page ${passage.page}`;
  if (positive(passage.line) && isLineAddressable(ext)) return `line ${passage.line}`;
  return "";
}

/** The one sentence to show for whatever a rejected invoke() gives (see errors.ts). */
export function errorText(err: unknown): string {
  return errorMessage(err);
}

/**
 * What to say above results that do not match clearly: `null` when something matches strongly (or there
 * are no results, which has its own message). Older responses without `confidence` count as strong.
 */
export function looseNoteText(confidence: Confidence | undefined, query: string, count: number): string | null {
  if (count === 0 || confidence === undefined || confidence === "strong") return null;
  const q = oneLine(query);
  if (confidence === "weak") return `Only loose matches for “${q}” — these results are related, but not closely.`;
  return `Nothing in your files is about “${q}” — these are only the nearest passages.`;
}
