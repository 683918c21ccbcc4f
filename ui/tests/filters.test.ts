import { afterEach, describe, expect, it, vi } from "vitest";
import { mountApp, type AppHandle } from "../src/app";
import { FiltersView, type FilterState } from "../src/filters";
import { groupOf, groupsFromKinds, KIND_GROUPS } from "../src/kinds";
import { createFakeApi, makeFolder, makeResponse, typeInto } from "./fakeApi";

describe("type groups from the index", () => {
  it("makes one group per known family present, in chip order, with file counts", () => {
    const groups = groupsFromKinds([
      { ext: "md", files: 30 },
      { ext: "pdf", files: 4 },
      { ext: "txt", files: 2 },
      { ext: "docx", files: 3 },
      { ext: "rtf", files: 1 },
      { ext: "eml", files: 5 },
      { ext: "mbox", files: 1 },
      { ext: "", files: 2 },
    ]);
    expect(groups.map((g) => [g.id, g.files])).toEqual([
      ["pdf", 4],
      ["word", 4],
      ["mail", 6],
      ["text", 34],
    ]);
    expect(groups.find((g) => g.id === "text")!.present).toEqual(["md", "", "txt"]);
    // A known group filters on its whole family, not only what happens to be there now.
    expect(groups.find((g) => g.id === "word")!.exts).toEqual(KIND_GROUPS.find((g) => g.id === "word")!.exts);
  });

  it("puts unknown extensions in Other, only when there are some", () => {
    expect(groupsFromKinds([{ ext: "md", files: 1 }]).map((g) => g.id)).toEqual(["text"]);
    const groups = groupsFromKinds([
      { ext: "ics", files: 2 },
      { ext: "md", files: 1 },
      { ext: "weird", files: 5 },
    ]);
    expect(groups.map((g) => g.id)).toEqual(["text", "other"]);
    const other = groups[1];
    expect(other.label).toBe("Other");
    expect(other.exts).toEqual(["weird", "ics"]);
    expect(other.files).toBe(7);
  });

  it("ignores entries without files, and nothing indexed means no chips", () => {
    expect(groupsFromKinds([])).toEqual([]);
    expect(groupsFromKinds([{ ext: "pdf", files: 0 }])).toEqual([]);
  });

  it("knows the families of the formats Sift reads", () => {
    const cases: [string, string][] = [
      ["pdf", "pdf"], ["docx", "word"], ["odt", "word"], ["rtf", "word"], ["pptx", "slides"], ["odp", "slides"],
      ["xlsx", "sheets"], ["ods", "sheets"], ["csv", "sheets"], ["eml", "mail"], ["mbox", "mail"],
      ["html", "web"], ["xhtml", "web"], ["epub", "ebooks"], ["md", "text"], ["txt", "text"], ["", "text"],
      ["rs", "code"], ["json", "code"], ["PDF", "pdf"], ["xyz", "other"],
    ];
    for (const [ext, group] of cases) expect([ext, groupOf(ext)]).toEqual([ext, group]);
  });
});

describe("type chips", () => {
  function view() {
    const select = document.createElement("select");
    const chips = document.createElement("div");
    const changes: FilterState[] = [];
    const v = new FiltersView(select, chips, (s) => changes.push(s));
    return { v, chips, changes };
  }
  const shown = (chips: HTMLElement) => [...chips.querySelectorAll<HTMLElement>(".chip")].map((c) => c.dataset.kind);

  it("shows only the groups that have indexed files, with counts, and none before there are any", () => {
    const { v, chips } = view();
    expect(shown(chips)).toEqual([]);
    expect(chips.hidden).toBe(true);
    v.setKinds([{ ext: "pdf", files: 3 }, { ext: "md", files: 1200 }]);
    expect(shown(chips)).toEqual(["pdf", "text"]);
    expect(chips.hidden).toBe(false);
    const pdf = chips.querySelector<HTMLElement>('.chip[data-kind="pdf"]')!;
    expect(pdf.querySelector(".chip-label")!.textContent).toBe("PDF");
    expect(pdf.querySelector(".chip-count")!.textContent).toBe("3");
    expect(chips.querySelector('.chip[data-kind="word"]')).toBeNull();
  });

  it("drops an active chip whose group disappeared, and searches again without it", () => {
    const { v, chips, changes } = view();
    v.setKinds([{ ext: "pdf", files: 3 }, { ext: "md", files: 1 }]);
    chips.querySelector<HTMLButtonElement>('.chip[data-kind="pdf"]')!.click();
    chips.querySelector<HTMLButtonElement>('.chip[data-kind="text"]')!.click();
    expect(v.state.kinds).toContain("pdf");
    expect(changes).toHaveLength(2);

    v.setKinds([{ ext: "md", files: 1 }]);
    expect(shown(chips)).toEqual(["text"]);
    expect(v.state.kinds).not.toContain("pdf");
    expect(v.state.kinds).toContain("md");
    expect(changes).toHaveLength(3);
    expect(changes[2].kinds).toEqual(v.state.kinds);
    expect(chips.querySelector('.chip[data-kind="text"]')!.getAttribute("aria-pressed")).toBe("true");

    // The group coming back does not re-activate it.
    v.setKinds([{ ext: "md", files: 1 }, { ext: "pdf", files: 1 }]);
    expect(chips.querySelector('.chip[data-kind="pdf"]')!.getAttribute("aria-pressed")).toBe("false");
    expect(v.state.kinds).not.toContain("pdf");
  });

  it("does not search again when the types are unchanged or an inactive group changes", () => {
    const { v, chips, changes } = view();
    v.setKinds([{ ext: "pdf", files: 3 }, { ext: "md", files: 1 }]);
    chips.querySelector<HTMLButtonElement>('.chip[data-kind="pdf"]')!.click();
    const pdfChip = chips.querySelector('.chip[data-kind="pdf"]');
    v.setKinds([{ ext: "pdf", files: 3 }, { ext: "md", files: 1 }]);
    v.setKinds([{ ext: "pdf", files: 4 }, { ext: "md", files: 9 }, { ext: "rs", files: 1 }]);
    expect(changes).toHaveLength(1);
    expect(chips.querySelector('.chip[data-kind="pdf"]')).toBe(pdfChip);
    expect(chips.querySelector('.chip[data-kind="pdf"] .chip-count')!.textContent).toBe("4");
    expect(v.state.kinds).toEqual(["pdf"]);
  });

  it("an active Other chip follows the unknown extensions present", () => {
    const { v, chips, changes } = view();
    v.setKinds([{ ext: "abc", files: 1 }]);
    chips.querySelector<HTMLButtonElement>('.chip[data-kind="other"]')!.click();
    expect(v.state.kinds).toEqual(["abc"]);
    v.setKinds([{ ext: "abc", files: 1 }, { ext: "zzz", files: 2 }]);
    expect(v.state.kinds).toEqual(["zzz", "abc"]);
    expect(changes.at(-1)!.kinds).toEqual(["zzz", "abc"]);
  });
});

describe("chips in the app", () => {
  let app: AppHandle | null = null;
  afterEach(() => {
    app?.destroy();
    app = null;
    document.body.replaceChildren();
    vi.useRealTimers();
  });

  it("come from the index, refresh when indexing finishes, not on keystrokes", async () => {
    vi.useFakeTimers();
    const api = createFakeApi({
      folders: [makeFolder({ path: "/a/Notes" })],
      kinds: [{ ext: "md", files: 2 }],
      search: async (req) => makeResponse(req.query, []),
    });
    const root = document.body.appendChild(document.createElement("div"));
    app = mountApp(root, api, { pollMs: 0 });
    await app.ready;
    const chips = () => [...root.querySelectorAll<HTMLElement>("#kind-filters .chip")].map((c) => c.dataset.kind);
    expect(chips()).toEqual(["text"]);
    const calls = vi.mocked(api.indexedKinds).mock.calls.length;

    const search = root.querySelector<HTMLInputElement>("#search")!;
    for (const q of ["b", "bu", "bud", "budget"]) typeInto(search, q);
    await vi.advanceTimersByTimeAsync(500);
    expect(vi.mocked(api.indexedKinds).mock.calls.length).toBe(calls);

    vi.mocked(api.indexedKinds).mockResolvedValue([{ ext: "md", files: 2 }, { ext: "pdf", files: 1 }]);
    api.emitProgress({ folder: "/a/Notes", filesDone: 3, filesTotal: 3, failed: 0, currentFile: null, done: true, offline: false });
    await vi.advanceTimersByTimeAsync(10);
    expect(chips()).toEqual(["pdf", "text"]);
  });
});
