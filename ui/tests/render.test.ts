import { afterEach, describe, expect, it, vi } from "vitest";
import { clipPassage, highlightFragment, renderPassage, renderResult } from "../src/render";
import type { Location } from "../src/api";
import { makeResult } from "./fakeApi";

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s).length;

afterEach(() => {
  document.body.replaceChildren();
});

describe("renderResult", () => {
  it("shows file name, folder location, line and highlighted passage", () => {
    const li = renderResult(
      makeResult(
        { path: "/home/u/Notes/2024/plan.md", fileName: "plan.md", folder: "/home/u/Notes" },
        { text: "the quarterly budget plan", line: 42, highlights: [[14, 20]] },
      ),
      0,
    );
    expect(li.classList.contains("result")).toBe(true);
    expect(li.dataset.path).toBe("/home/u/Notes/2024/plan.md");
    expect(li.querySelector(".result-name")!.textContent).toBe("plan.md");
    expect(li.querySelector(".result-folder")!.textContent).toBe("Notes › 2024");
    expect(li.querySelector(".result-locator")!.textContent).toBe("line 42");
    const marks = li.querySelectorAll(".passage mark");
    expect(marks).toHaveLength(1);
    expect(marks[0].textContent).toBe("budget");
    expect(li.querySelector(".passage")!.textContent).toBe("the quarterly budget plan");
  });

  it("shows the page for PDFs instead of the line", () => {
    const li = renderResult(makeResult({ fileName: "x.pdf", path: "/home/u/Notes/x.pdf" }, { page: 7, line: 0 }), 0);
    expect(li.querySelector(".result-locator")!.textContent).toBe("page 7");
    expect(li.querySelector(".kind-badge")!.textContent).toBe("PDF");
  });

  it("shows slide, sheet, chapter and message locations as text; no line for documents", () => {
    const loc = (fileName: string, location: Location | null) =>
      renderResult(makeResult({ fileName, path: `/home/u/Notes/${fileName}` }, { line: 9, page: null, location }), 0).querySelector(".result-locator")?.textContent ?? null;
    expect(loc("deck.pptx", { unit: "slide", number: 4 })).toBe("slide 4");
    expect(loc("book.xlsx", { unit: "sheet", number: 1, name: "Budget" })).toBe("sheet Budget");
    expect(loc("novel.epub", { unit: "chapter", number: 2, title: "Storm" })).toBe("chapter “Storm”");
    expect(loc("inbox.mbox", { unit: "message", number: 3, subject: "Lunch" })).toBe("message 3 · Lunch");
    expect(loc("page.html", null)).toBeNull();
    expect(loc("letter.docx", null)).toBeNull();
    const li = renderResult(
      makeResult({ fileName: "inbox.mbox", path: "/home/u/inbox.mbox" }, { location: { unit: "message", number: 1, subject: "<img src=x onerror=alert(1)>" } }),
      0,
    );
    expect(li.querySelector(".result-locator")!.textContent).toBe("message 1 · <img src=x onerror=alert(1)>");
    expect(li.querySelector("img")).toBeNull();
  });

  it("renders an XSS payload in the passage as inert text", () => {
    const payload = `<img src=x onerror=alert(1)> and <script>alert("pwned")</script> done`;
    const alertSpy = vi.fn();
    (window as unknown as { alert: unknown }).alert = alertSpy;
    const hl: [number, number][] = [[0, bytes("<img src=x onerror=alert(1)>")]];
    const li = renderResult(makeResult({}, { text: payload, highlights: hl }), 0);
    document.body.appendChild(li);

    expect(li.querySelector("img")).toBeNull();
    expect(li.querySelector("script")).toBeNull();
    expect(document.querySelectorAll("img, script").length).toBe(0);
    const passage = li.querySelector(".passage")!;
    expect(passage.textContent).toBe(payload);
    // The highlight is a <mark> containing only a text node with the raw markup.
    const mark = passage.querySelector("mark")!;
    expect(mark.textContent).toBe("<img src=x onerror=alert(1)>");
    expect(mark.childNodes).toHaveLength(1);
    expect(mark.firstChild!.nodeType).toBe(Node.TEXT_NODE);
    // Every element under the passage is one we made.
    for (const el of passage.querySelectorAll("*")) expect(["MARK", "SPAN"]).toContain(el.tagName);
    expect(alertSpy).not.toHaveBeenCalled();
  });

  it("keeps payloads inert before, inside and after highlights", () => {
    const before = `<script>alert(1)</script><img src=x onerror=alert(1)>`;
    const inside = `<svg onload=alert(2)>`;
    const after = `<iframe srcdoc="<script>alert(3)</script>"></iframe>`;
    const text = `${before} ${inside} ${after}`;
    const s = bytes(`${before} `);
    for (const highlights of [[], [[s, s + bytes(inside)]]] as [number, number][][]) {
      const p = renderPassage({ text, start: 0, end: bytes(text), line: 1, page: null, highlights });
      document.body.appendChild(p);
      expect(p.textContent).toBe(text);
      expect(p.querySelector("script, img, svg, iframe")).toBeNull();
      for (const node of p.childNodes) {
        if (node.nodeType === Node.ELEMENT_NODE) expect((node as Element).tagName).toBe("MARK");
      }
      expect(p.querySelectorAll("mark")).toHaveLength(highlights.length);
    }
  });

  it("renders hostile file names and folders as text, never markup", () => {
    const evil = `<img src=x onerror=alert(1)>.md`;
    const li = renderResult(
      makeResult({ fileName: evil, path: `/tmp/<b onmouseover=alert(1)>x<script>/${evil}`, folder: "/tmp/<b onmouseover=alert(1)>x<script>" }),
      0,
    );
    expect(li.querySelector("img, script, b")).toBeNull();
    expect(li.querySelector(".result-name")!.textContent).toBe(evil);
    expect(li.querySelector(".result-folder")!.textContent).toBe("<b onmouseover=alert(1)>x<script>");
    expect(li.getAttribute("onerror")).toBeNull();
  });

  it("places highlights correctly in non-ASCII passages", () => {
    const text = "Grüße aus Köln 🎉 — das Café öffnet um 8 Uhr";
    const start = bytes("Grüße aus Köln 🎉 — das ");
    const li = renderResult(makeResult({}, { text, highlights: [[start, start + bytes("Café")], [0, bytes("Grüße")]] }), 0);
    const marks = [...li.querySelectorAll(".passage mark")].map((m) => m.textContent);
    expect(marks).toEqual(["Grüße", "Café"]);
    expect(li.querySelector(".passage")!.textContent).toBe(text);
  });
});

describe("highlightFragment", () => {
  it("builds text and <mark> nodes without parsing", () => {
    const frag = highlightFragment("a<b>c</b>d", [[1, 4]]);
    const div = document.createElement("div");
    div.appendChild(frag);
    expect(div.childNodes).toHaveLength(3);
    expect(div.querySelector("b")).toBeNull();
    expect(div.querySelector("mark")!.textContent).toBe("<b>");
  });
});

describe("clipPassage", () => {
  it("leaves short passages alone", () => {
    expect(clipPassage("short", [[0, 5]], 100)).toEqual({ text: "short", ranges: [[0, 5]], answer: null, clippedStart: false, clippedEnd: false });
  });

  it("keeps the first highlight visible in a long passage and shifts ranges", () => {
    const words = Array.from({ length: 200 }, (_, i) => `w${i}`);
    const text = words.join(" ");
    const at = text.indexOf("w150");
    const c = clipPassage(text, [[at, at + 4]], 80);
    expect(c.clippedStart).toBe(true);
    expect(c.text.length).toBeLessThanOrEqual(80);
    expect(c.text.slice(c.ranges[0][0], c.ranges[0][1])).toBe("w150");
  });

  it("never cuts a surrogate pair in half", () => {
    const text = "😀".repeat(100);
    for (const anchor of [0, 41, 100, 198]) {
      const c = clipPassage(text, [[anchor - (anchor % 2), anchor - (anchor % 2) + 2]], 31);
      expect(c.text).toMatch(/^(😀)+$/u);
    }
  });

  it("adds ellipses around a clipped rendered passage", () => {
    const text = "x ".repeat(300) + "needle " + "y ".repeat(300);
    const start = text.indexOf("needle");
    const p = renderPassage({ text, start: 0, end: text.length, line: 1, page: null, highlights: [[start, start + 6]] }, 100);
    expect(p.querySelectorAll(".ellipsis")).toHaveLength(2);
    expect(p.querySelector("mark")!.textContent).toBe("needle");
  });

  it("marks the answering sentences and keeps them in view in a long passage", () => {
    const filler = "The weekly sync started at ten with the usual updates. ".repeat(20);
    const recipe = "Brown the beef and let it bubble gently for three hours.";
    const text = filler + recipe + " " + filler;
    const a = bytes(filler);
    const p = renderPassage(
      { text, start: 0, end: bytes(text), line: 1, page: null, highlights: [[a + 10, a + 14]], answer: [a, a + bytes(recipe)] },
      200,
    );
    const answer = p.querySelector(".answer")!;
    expect(answer.textContent).toBe(recipe);
    // Word highlights inside the answer stay marks inside it.
    expect(answer.querySelector("mark")!.textContent).toBe("beef");
    expect(p.querySelectorAll(".answer")).toHaveLength(1);
    expect(p.querySelectorAll(".ellipsis")).toHaveLength(2);
  });

  it("renders an answer as text, never markup, and ignores a missing or empty one", () => {
    const text = "<img src=x onerror=alert(1)> is the answer here.";
    const p = renderPassage({ text, start: 0, end: bytes(text), line: 1, page: null, highlights: [], answer: [0, 28] });
    expect(p.querySelector("img")).toBeNull();
    expect(p.querySelector(".answer")!.textContent).toBe("<img src=x onerror=alert(1)>");
    for (const answer of [null, undefined, [5, 5] as [number, number]]) {
      const q = renderPassage({ text, start: 0, end: bytes(text), line: 1, page: null, highlights: [], answer });
      expect(q.querySelector(".answer")).toBeNull();
      expect(q.textContent).toBe(text);
    }
  });
});
