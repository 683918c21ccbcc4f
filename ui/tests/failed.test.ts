import { describe, expect, it } from "vitest";
import type { FailedFile } from "../src/api";
import { FailedFilesDialog, groupProblems, OPEN_GROUP_MAX, problemSummary, reasonKind } from "../src/failed";

describe("problem reasons", () => {
  it("group by the reason without its detail", () => {
    expect(reasonKind("unsupported type (.pdf)")).toBe("unsupported type");
    expect(reasonKind("unsupported type (.png)")).toBe("unsupported type");
    expect(reasonKind("too large (300 MB; the limit is 128 MB)")).toBe("too large");
    expect(reasonKind("scanned — no text layer")).toBe("scanned — no text layer");
    expect(reasonKind("corrupt Word document: invalid zip header")).toBe("corrupt Word document");
    expect(reasonKind("cannot read this folder (permission denied); what was indexed in it is kept")).toBe("cannot read this folder");
    expect(reasonKind("could not be read: Permission denied (os error 13)")).toBe("could not be read");
    expect(reasonKind("(odd)")).toBe("(odd)");
    expect(reasonKind("  ")).toBe("unknown reason");
  });

  it("make one group per kind with its files, failed first, then the biggest", () => {
    const files: FailedFile[] = [
      { path: "/d/a.png", reason: "unsupported type (.png)", status: "skipped" },
      { path: "/d/b.pdf", reason: "unsupported type (.pdf)", status: "skipped" },
      { path: "/d/c.zip", reason: "unsupported type (.zip)", status: "skipped" },
      { path: "/d/big.log", reason: "too large (300 MB; the limit is 128 MB)", status: "skipped" },
      { path: "/d/s1.pdf", reason: "scanned — no text layer", status: "skipped" },
      { path: "/d/s2.pdf", reason: "Scanned — no text layer", status: "skipped" },
      { path: "/d/x.docx", reason: "corrupt Word document: bad zip", status: "failed" },
    ];
    const groups = groupProblems(files);
    expect(groups.map((g) => [g.reason, g.status, g.files.length])).toEqual([
      ["corrupt Word document", "failed", 1],
      ["unsupported type", "skipped", 3],
      ["scanned — no text layer", "skipped", 2],
      ["too large", "skipped", 1],
    ]);
    // The detail stays with each file; a reason that is only its kind adds nothing.
    expect(groups[1].files.map((f) => f.detail)).toEqual(["unsupported type (.png)", "unsupported type (.pdf)", "unsupported type (.zip)"]);
    expect(groups[2].files.map((f) => f.detail)).toEqual(["", ""]);
    expect(groups[3].files[0].detail).toBe("too large (300 MB; the limit is 128 MB)");
    expect(problemSummary(files)).toBe("6 skipped · 1 failed");
  });

  it("render as headings with counts, long groups collapsed, every file listed as text", () => {
    const dialog = new FailedFilesDialog(async () => []);
    const files: FailedFile[] = [];
    for (let i = 0; i < 12; i++) files.push({ path: `/d/img-${i}.png`, reason: `unsupported type (.png)`, status: "skipped" });
    files.push({ path: "/d/scan.pdf", reason: "scanned — no text layer", status: "skipped" });
    files.push({ path: "/d/big.mbox", reason: "too large (300 MB; the limit is 128 MB)", status: "failed" });
    dialog.render(files);
    const el = dialog.element;
    const groups = [...el.querySelectorAll<HTMLDetailsElement>("details.problem-group")];
    expect(groups.map((g) => g.querySelector(".problem-title")!.textContent)).toEqual([
      "too large: 1",
      "unsupported type: 12",
      "scanned — no text layer: 1",
    ]);
    expect(groups.map((g) => g.open)).toEqual([true, false, true]);
    expect(12).toBeGreaterThan(OPEN_GROUP_MAX);
    expect(groups.map((g) => g.className)).toEqual([
      "problem-group tone-failed",
      "problem-group tone-skipped",
      "problem-group tone-skipped",
    ]);
    expect(groups[1].querySelectorAll(".failed-item")).toHaveLength(12);
    expect(el.querySelectorAll(".failed-item")).toHaveLength(14);
    expect(el.querySelector(".failed-summary")!.textContent).toMatch(/^13 skipped · 1 failed\./);

    // One group only: open even when long.
    dialog.render(files.slice(0, 12));
    expect(el.querySelector<HTMLDetailsElement>("details.problem-group")!.open).toBe(true);
    dialog.render([]);
    expect(el.querySelectorAll(".problem-group")).toHaveLength(0);
    expect(el.querySelector(".failed-summary")!.textContent).toBe("No files were skipped.");
  });
});
