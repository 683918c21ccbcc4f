// Minimal DOM building helpers. Nothing here ever parses HTML: text always
// becomes a Text node, so untrusted strings cannot turn into markup.

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  id?: string;
  class?: string;
  text?: string;
  title?: string;
  hidden?: boolean;
  /** Plain attributes. Event-handler (`on*`) and `style` attributes are refused. */
  attrs?: Record<string, string | number | boolean | null | undefined>;
  data?: Record<string, string>;
}

function isForbiddenAttr(name: string): boolean {
  const n = name.toLowerCase();
  return n.startsWith("on") || n === "style" || n === "srcdoc";
}

export function setAttrs(el: Element, attrs: Props["attrs"]): void {
  if (!attrs) return;
  for (const [name, value] of Object.entries(attrs)) {
    if (isForbiddenAttr(name)) throw new Error(`refusing to set attribute ${name}`);
    if (value === null || value === undefined || value === false) el.removeAttribute(name);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
}

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.id) el.id = props.id;
  if (props.class) el.className = props.class;
  if (props.title) el.title = props.title;
  if (props.hidden) el.hidden = true;
  if (props.text !== undefined) el.textContent = props.text;
  setAttrs(el, props.attrs);
  if (props.data) for (const [k, v] of Object.entries(props.data)) el.dataset[k] = v;
  append(el, children);
  return el;
}

/** Replace all children of `el`. */
export function replaceChildren(el: Element, ...children: Child[]): void {
  while (el.firstChild) el.removeChild(el.firstChild);
  append(el, children);
}

/** Query a required element, throwing a readable error if the shell is broken. */
export function $<T extends Element = HTMLElement>(root: ParentNode, selector: string): T {
  const el = root.querySelector<T>(selector);
  if (!el) throw new Error(`missing element ${selector}`);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

// Our own simple 24×24 stroke icons.
const ICONS: Record<string, string> = {
  search: "M11 4a7 7 0 1 0 0 14a7 7 0 1 0 0-14z M16.5 16.5L21 21",
  settings: "M4 7h9 M17 7h3 M4 17h3 M11 17h9 M15 5a2 2 0 1 0 0 4a2 2 0 1 0 0-4z M9 15a2 2 0 1 0 0 4a2 2 0 1 0 0-4z",
  folder: "M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z",
  plus: "M12 5v14 M5 12h14",
  pause: "M9 5v14 M15 5v14",
  play: "M7 5l12 7-12 7z",
  close: "M6 6l12 12 M18 6L6 18",
  warning: "M12 3L2 20h20z M12 10v4 M12 17v.5",
  drop: "M12 15V3 M7 8l5-5 5 5 M4 15v4a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-4",
  open: "M14 4h6v6 M20 4l-9 9 M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5",
  reveal: "M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z M12 11v5 M9.5 13.5L12 16l2.5-2.5",
  sidebar: "M4 5h16v14H4z M9 5v14",
};

export type IconName = keyof typeof ICONS;

export function icon(name: IconName, cls = "icon"): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", ICONS[name]);
  svg.appendChild(path);
  return svg;
}
