// Errors as the user sees them: one sentence that says what to do, cut to one line, with the full details
// (the backend's error chain) behind a "Copy details" button. The backend sends `AppError`s (see api.ts);
// anything else (a plain string, an Error) is reduced the same way.

import type { AppError, ErrorKind } from "./api";
import { h } from "./dom";

/** The most characters an error message shows; the rest is in the tooltip and the details. */
export const MAX_ERROR_CHARS = 160;

export function isAppError(err: unknown): err is AppError {
  return typeof err === "object" && err !== null && typeof (err as AppError).message === "string" && typeof (err as AppError).kind === "string";
}

function rawText(err: unknown): string {
  if (isAppError(err)) return err.message;
  if (err instanceof Error) return err.message;
  if (typeof err === "string") return err;
  if (err === null || err === undefined) return "";
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

/**
 * `text` as one line: the first non-empty line, its first sentence, whitespace collapsed, at most `max`
 * characters (code points) with an ellipsis.
 */
export function oneSentence(text: string, max = MAX_ERROR_CHARS): string {
  const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== "") ?? "";
  let s = line.replace(/\s+/g, " ");
  // A new sentence starts after ". " followed by a capital letter or an opening quote.
  const end = /[.!?](?=\s+[A-Z“"(])/.exec(s);
  if (end) s = s.slice(0, end.index + 1);
  const chars = Array.from(s);
  if (chars.length > max) s = chars.slice(0, max - 1).join("").trimEnd() + "…";
  return s || "Something went wrong.";
}

/** The one sentence to show for an error. */
export function errorMessage(err: unknown, max = MAX_ERROR_CHARS): string {
  return oneSentence(rawText(err), max);
}

/** Everything known about an error, for "Copy details" and bug reports. */
export function errorDetails(err: unknown): string {
  if (isAppError(err)) return err.details || err.message;
  if (err instanceof Error) return err.stack && !err.stack.startsWith(err.message) ? `${err.message}\n${err.stack}` : err.stack || err.message;
  return rawText(err);
}

export function errorKind(err: unknown): ErrorKind {
  return isAppError(err) ? err.kind : "other";
}

/** Puts `text` on the clipboard (web API; no extra permission). False when the webview refuses. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (typeof navigator === "undefined" || !navigator.clipboard) return false;
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A "Copy details" button for `details`. When the clipboard is refused, the details appear in a selectable
 * box below (`.error-details`) so they can still be copied by hand.
 */
export function copyDetailsButton(details: string, after?: (box: HTMLElement) => void): HTMLButtonElement {
  const button = h("button", { class: "link copy-details", text: "Copy details", title: "Copy the full error for a bug report", attrs: { type: "button" } });
  let box: HTMLElement | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  button.addEventListener("click", async () => {
    const copied = await copyText(details);
    if (copied) {
      button.textContent = "Copied";
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => (button.textContent = "Copy details"), 2000);
      return;
    }
    if (!box) {
      box = h("pre", { class: "error-details", text: details, attrs: { tabindex: "0" } });
      if (after) after(box);
      else button.after(box);
    }
    box.hidden = false;
    box.focus();
  });
  return button;
}

/**
 * One error on one line: `prefix` + the message (cut with an ellipsis, full text in the tooltip), and
 * "Copy details" when the details say more than the message. `showDetails` places the details box when the
 * clipboard is refused (default: after the button).
 */
export function errorNote(err: unknown, opts: { prefix?: string; class?: string; showDetails?: (box: HTMLElement) => void } = {}): HTMLElement {
  const message = errorMessage(err);
  const text = opts.prefix ? `${opts.prefix}${message}` : message;
  const details = errorDetails(err);
  const note = h("div", { class: `error-note${opts.class ? ` ${opts.class}` : ""}` });
  const full = errorMessage(err, 2000);
  note.append(h("span", { class: "error-message", text, title: opts.prefix ? `${opts.prefix}${full}` : full }));
  if (details.trim() !== "" && details.trim() !== message) note.append(copyDetailsButton(details, opts.showDetails));
  return note;
}
