import { describe, expect, it } from "vitest";
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

  it("prefers page over line", () => {
    expect(formatLocator(12, null)).toBe("line 12");
    expect(formatLocator(0, 4)).toBe("page 4");
    expect(formatLocator(0, null)).toBe("");
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
