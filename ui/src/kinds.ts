// File-type groups for the filter chips, built from the types actually in the index (`indexed_kinds`).
// Pure: no DOM, so the grouping is unit-tested on its own.

import type { KindCount } from "./api";

export interface KindGroup {
  id: string;
  label: string;
  /** Extensions (lower case, no dot; "" = no extension) sent to the backend's `kinds` argument. */
  exts: string[];
}

/** Known groups, in chip order. An extension in none of them falls in "Other". */
export const KIND_GROUPS: readonly KindGroup[] = [
  { id: "pdf", label: "PDF", exts: ["pdf"] },
  { id: "word", label: "Word", exts: ["doc", "docx", "docm", "dotx", "dotm", "odt", "ott", "rtf", "pages"] },
  { id: "slides", label: "Slides", exts: ["ppt", "pptx", "pptm", "ppsx", "potx", "odp", "otp", "key"] },
  { id: "sheets", label: "Sheets", exts: ["xls", "xlsx", "xlsm", "xltx", "ods", "ots", "csv", "tsv", "numbers"] },
  { id: "mail", label: "Mail", exts: ["eml", "mbox", "mbx", "msg"] },
  { id: "web", label: "Web", exts: ["html", "htm", "xhtml", "xht", "shtml"] },
  { id: "ebooks", label: "E-books", exts: ["epub"] },
  {
    id: "text",
    label: "Text",
    // "" = files without an extension (README, LICENSE…): only plain text ones are ever indexed.
    exts: ["txt", "text", "md", "markdown", "mdx", "rst", "org", "adoc", "log", "tex", "bib", "srt", "vtt", ""],
  },
  {
    id: "code",
    label: "Code",
    exts: [
      "rs", "py", "js", "mjs", "cjs", "ts", "tsx", "jsx", "java", "kt", "kts", "scala", "c", "h", "cc", "cpp",
      "cxx", "hpp", "hh", "m", "mm", "go", "rb", "php", "swift", "cs", "fs", "vb", "sh", "bash", "zsh", "fish",
      "ps1", "bat", "sql", "r", "jl", "lua", "pl", "pm", "dart", "ex", "exs", "erl", "hs", "ml", "mli", "clj",
      "cljs", "el", "lisp", "scm", "vue", "svelte", "css", "scss", "sass", "less", "gradle", "cmake", "mk", "nix",
      "zig", "v", "sv", "vhd", "proto", "graphql", "tf", "ipynb", "json", "jsonl", "yaml", "yml", "toml", "ini",
      "cfg", "conf", "xml", "svg", "properties", "env",
    ],
  },
];

export const OTHER_GROUP_ID = "other";

const GROUP_OF = new Map<string, KindGroup>();
for (const g of KIND_GROUPS) for (const e of g.exts) GROUP_OF.set(e, g);

/** The group id of an extension (lower case, no dot); "other" when no known group has it. */
export function groupOf(ext: string): string {
  return GROUP_OF.get(ext.toLowerCase())?.id ?? OTHER_GROUP_ID;
}

/** Where line numbers mean something to the reader: plain text and code (and unknown types read as text). */
export function isLineAddressable(ext: string): boolean {
  const g = groupOf(ext);
  return g === "text" || g === "code" || g === OTHER_GROUP_ID;
}

/** A chip to show: a group with the indexed files it covers. */
export interface PresentGroup extends KindGroup {
  /** Searchable files of this group in the index. */
  files: number;
  /** The group's extensions that are in the index, most files first (the chip's tooltip). */
  present: string[];
}

/**
 * The chips for what is indexed: known groups in their fixed order, then "Other" for extensions no group knows
 * (only when there are some). Groups with no indexed file are left out; entries with no files are ignored.
 */
export function groupsFromKinds(kinds: readonly KindCount[]): PresentGroup[] {
  const byGroup = new Map<string, { files: number; present: [string, number][] }>();
  for (const k of kinds) {
    if (!k || typeof k.ext !== "string" || !(k.files > 0)) continue;
    const ext = k.ext.toLowerCase();
    const id = groupOf(ext);
    const entry = byGroup.get(id) ?? { files: 0, present: [] };
    entry.files += k.files;
    entry.present.push([ext, k.files]);
    byGroup.set(id, entry);
  }
  const out: PresentGroup[] = [];
  const add = (g: KindGroup) => {
    const entry = byGroup.get(g.id);
    if (!entry) return;
    const present = entry.present.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([e]) => e);
    // "Other" has no fixed list: it filters on exactly the unknown extensions that are indexed.
    out.push({ ...g, exts: g.id === OTHER_GROUP_ID ? present : g.exts, files: entry.files, present });
  };
  KIND_GROUPS.forEach(add);
  add({ id: OTHER_GROUP_ID, label: "Other", exts: [] });
  return out;
}

/** ".pdf", or "no extension" for "". */
export function extLabel(ext: string): string {
  return ext === "" ? "no extension" : "." + ext;
}
