import { describe, expect, it } from "vitest";
import type { Location } from "../src/api";
import { basename, displayLocation, extension, formatEta, formatLocator } from "../src/format";
import { folderFraction } from "../src/folders";
import { clampThreads, parseExcludes, parsePrecision } from "../src/settings";

describe("format helpers", () => {
  it("formats ETAs", () => {
    expect(formatEta(null)).toBe("");
    expect(formatEta(20)).toBe("less than a minute left");
    expect(formatEta(300)).toBe("~5 min left");
    expect(formatEta(3600)).toBe("~1 h left");
    expect(formatEta(3600 + 25 * 60)).toBe("~1 h 25 min left");
  });

  it("handles POSIX and Windows paths", () => {
    expect(basename("/home/u/Notes/a.md")).toBe("a.md");
    expect(basename("C:\\Users\\u\\Docs\\b.pdf")).toBe("b.pdf");
    expect(displayLocation("/home/u/Notes/2024/q1/a.md", "/home/u/Notes")).toBe("Notes › 2024 › q1");
    expect(displayLocation("C:\\Users\\u\\Docs\\b.pdf", "C:\\Users\\u\\Docs")).toBe("Docs");
    expect(extension("Report.Final.PDF")).toBe("pdf");
    expect(extension(".bashrc")).toBe("");
  });

  it("says where a passage is, for each unit", () => {
    const at = (location: Location | null, line = 7, page: number | null = null) => ({ line, page, location });
    expect(formatLocator(at({ unit: "page", number: 12 }, 0, 12), "pdf")).toBe("page 12");
    expect(formatLocator(at({ unit: "slide", number: 4 }), "pptx")).toBe("slide 4");
    expect(formatLocator(at({ unit: "sheet", number: 2, name: "Budget" }), "xlsx")).toBe("sheet Budget");
    expect(formatLocator(at({ unit: "sheet", number: 2, name: " " }), "ods")).toBe("sheet 2");
    expect(formatLocator(at({ unit: "chapter", number: 3, title: "Storm" }), "epub")).toBe("chapter “Storm”");
    expect(formatLocator(at({ unit: "chapter", number: 3, title: "" }), "epub")).toBe("chapter 3");
    expect(formatLocator(at({ unit: "message", number: 3, subject: "Lunch on Friday?" }), "mbox")).toBe("message 3 · Lunch on Friday?");
    expect(formatLocator(at({ unit: "message", number: 5, subject: "" }), "mbox")).toBe("message 5");
    // Only a page number (no location): still the page.
    expect(formatLocator(at(null, 0, 4), "pdf")).toBe("page 4");
  });

  it("shows line numbers only for plain text and code", () => {
    expect(formatLocator({ line: 12, page: null, location: null }, "md")).toBe("line 12");
    expect(formatLocator({ line: 12, page: null }, "rs")).toBe("line 12");
    expect(formatLocator({ line: 12, page: null }, "")).toBe("line 12");
    for (const ext of ["html", "docx", "eml", "rtf", "odt"]) expect(formatLocator({ line: 12, page: null, location: null }, ext)).toBe("");
    expect(formatLocator({ line: 0, page: null }, "txt")).toBe("");
    expect(formatLocator(null, "txt")).toBe("");
  });

  it("keeps names from files on one short line, and ignores malformed locations", () => {
    const subject = "Re: \u202eevil\u202c\n\tsubject " + "x".repeat(100);
    const shown = formatLocator({ line: 1, page: null, location: { unit: "message", number: 2, subject } }, "mbox");
    expect(shown.startsWith("message 2 · Re: evil subject xxx")).toBe(true);
    expect(shown.endsWith("…")).toBe(true);
    expect(Array.from(shown.slice("message 2 · ".length))).toHaveLength(60);
    expect(/[\u0000-\u001f\u202a-\u202e]/.test(shown)).toBe(false);
    const bad = { unit: "page", number: -1 } as Location;
    expect(formatLocator({ line: 3, page: null, location: bad }, "txt")).toBe("line 3");
    const unknown = { unit: "verse", number: 2 } as unknown as Location;
    expect(formatLocator({ line: 0, page: null, location: unknown }, "pdf")).toBe("");
  });

  it("computes folder progress safely", () => {
    expect(folderFraction(5, 0)).toBe(0);
    expect(folderFraction(5, 10)).toBe(0.5);
    expect(folderFraction(50, 10)).toBe(1);
  });

  it("parses excluded patterns and clamps threads", () => {
    expect(parseExcludes(" a \r\n\n b\na\n")).toEqual(["a", "b"]);
    expect(clampThreads(0, 8)).toBe(1);
    expect(clampThreads(99, 8)).toBe(8);
    expect(clampThreads(NaN, 8)).toBe(8);
  });
});

describe("parsePrecision", () => {
  it("accepts int8 and fp32 and falls back otherwise", () => {
    expect(parsePrecision("fp32", "int8")).toBe("fp32");
    expect(parsePrecision("int8", "fp32")).toBe("int8");
    expect(parsePrecision("", "fp32")).toBe("fp32");
    expect(parsePrecision("float16", "int8")).toBe("int8");
  });
});
