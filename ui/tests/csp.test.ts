// Guards for the strict CSP (script-src 'self'; style-src 'self') and for
// the rule that untrusted text never goes through an HTML parser.

import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { h } from "../src/dom";

const uiDir = dirname(dirname(fileURLToPath(import.meta.url)));

describe.each(["index.html", "quick.html"])("%s", (page) => {
  const html = readFileSync(join(uiDir, page), "utf8");
  const doc = new DOMParser().parseFromString(html, "text/html");

  it("has no inline scripts", () => {
    const scripts = [...doc.querySelectorAll("script")];
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) {
      expect(s.getAttribute("src")).toBeTruthy();
      expect(s.textContent!.trim()).toBe("");
    }
  });

  it("has no inline event handlers, style attributes or <style> blocks", () => {
    for (const el of doc.querySelectorAll("*")) {
      for (const attr of el.getAttributeNames()) {
        expect(attr.startsWith("on"), `${el.tagName} ${attr}`).toBe(false);
        expect(attr).not.toBe("style");
      }
    }
    expect(doc.querySelector("style")).toBeNull();
    expect(html).not.toMatch(/javascript:/i);
  });
});

describe("source", () => {
  const srcDir = join(uiDir, "src");
  const files = readdirSync(srcDir).filter((f) => f.endsWith(".ts"));

  it("never uses HTML-parsing sinks", () => {
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const code = readFileSync(join(srcDir, f), "utf8");
      expect(code, f).not.toMatch(/\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|\beval\(|new Function\(/);
      expect(code, f).not.toMatch(/setAttribute\(\s*["']style["']/);
    }
  });

  it("keeps Tauri imports inside api.ts", () => {
    for (const f of files.filter((f) => f !== "api.ts")) {
      const code = readFileSync(join(srcDir, f), "utf8");
      expect(code, f).not.toMatch(/from\s+["']@tauri-apps\//);
    }
  });
});

describe("h() helper", () => {
  it("refuses event-handler and style attributes", () => {
    expect(() => h("div", { attrs: { onclick: "alert(1)" } })).toThrow();
    expect(() => h("div", { attrs: { OnError: "x" } })).toThrow();
    expect(() => h("div", { attrs: { style: "color:red" } })).toThrow();
  });

  it("turns string children into text", () => {
    const el = h("div", {}, "<b>bold</b>");
    expect(el.querySelector("b")).toBeNull();
    expect(el.textContent).toBe("<b>bold</b>");
  });
});
