// A small accessible modal sheet (overlay + panel) without <dialog>, so it
// behaves the same in every webview and in jsdom.

import { h, icon } from "./dom";

const FOCUSABLE = 'summary, button:not([disabled]), [href], input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export class Modal {
  readonly overlay: HTMLDivElement;
  readonly panel: HTMLDivElement;
  readonly body: HTMLDivElement;
  readonly footer: HTMLDivElement;
  private readonly heading: HTMLHeadingElement;
  private restoreFocus: HTMLElement | null = null;
  onClose: (() => void) | null = null;

  constructor(id: string, title: string) {
    const titleId = `${id}-title`;
    this.heading = h("h2", { id: titleId, class: "modal-title", text: title });
    const close = h(
      "button",
      { class: "icon-button modal-close", title: "Close (Esc)", attrs: { type: "button", "aria-label": "Close" } },
      icon("close"),
    );
    close.addEventListener("click", () => this.close());
    this.body = h("div", { class: "modal-body" });
    this.footer = h("div", { class: "modal-footer" });
    this.panel = h(
      "div",
      { class: "modal", attrs: { role: "dialog", "aria-modal": "true", "aria-labelledby": titleId } },
      h("div", { class: "modal-header" }, this.heading, close),
      this.body,
      this.footer,
    );
    this.overlay = h("div", { id, class: "modal-overlay", hidden: true }, this.panel);
    this.overlay.addEventListener("mousedown", (e) => {
      if (e.target === this.overlay) this.close();
    });
    this.overlay.addEventListener("keydown", (e) => this.onKeydown(e));
  }

  get isOpen(): boolean {
    return !this.overlay.hidden;
  }

  setTitle(title: string): void {
    this.heading.textContent = title;
  }

  open(focus?: HTMLElement | null): void {
    if (!this.isOpen) {
      const active = document.activeElement;
      this.restoreFocus = active instanceof HTMLElement ? active : null;
    }
    this.overlay.hidden = false;
    const target = focus ?? this.panel.querySelector<HTMLElement>(FOCUSABLE);
    target?.focus();
  }

  close(): void {
    if (!this.isOpen) return;
    this.overlay.hidden = true;
    this.restoreFocus?.focus();
    this.restoreFocus = null;
    this.onClose?.();
  }

  private onKeydown(e: KeyboardEvent): void {
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      this.close();
      return;
    }
    if (e.key !== "Tab") return;
    const items = [...this.panel.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => !el.closest("[hidden]"));
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  }
}
