#!/usr/bin/env python3
"""Build a BEIR-style retrieval collection from the Python documentation's FAQ.

Usage: python3 scripts/collections/python_faq.py HTML_DIR OUT_DIR [--max-distractors N]

HTML_DIR is a built copy of the Python HTML docs (Debian: /usr/share/doc/python3.11/html,
from the `python3.11-doc` package). OUT_DIR receives:

  docs/<id>.txt    one plain-text document per file (file stem = document id)
  queries.jsonl    {"_id": ..., "text": ...} per line: the FAQ questions
  qrels.tsv        query-id <TAB> corpus-id <TAB> score (1): question -> its answer

Relevant documents are the FAQ answers (faq/*.html), without the question heading.
Distractors are sections (h1 intro, h2, h3) of library/, tutorial/, howto/ and
reference/ pages, heading first, evenly thinned to at most --max-distractors.

Standard library only. Same input -> byte-identical output. See README.md beside it.
"""

import argparse
import json
import os
import re
import sys
from html.parser import HTMLParser

FAQ_PAGES = ["general", "programming", "design", "library", "extending", "windows", "gui", "installed"]
DISTRACTOR_DIRS = [("library", "lib"), ("tutorial", "tut"), ("howto", "howto"), ("reference", "ref")]
MIN_ANSWER_WORDS = 15
MIN_SECTION_WORDS = 30
DEFAULT_MAX_DISTRACTORS = 4000

# Elements whose whole content is dropped.
SKIP_TAGS = {"script", "style", "nav", "template", "noscript"}
SKIP_CLASSES = {"headerlink", "section-number", "linenos"}
# Elements that start/end a text block.
BLOCK_TAGS = {
    "p", "pre", "li", "dt", "dd", "div", "blockquote", "section", "ul", "ol", "dl",
    "table", "thead", "tbody", "tr", "caption", "figure", "figcaption", "hr",
    "h1", "h2", "h3", "h4", "h5", "h6", "aside", "details", "summary", "address",
}
VOID_TAGS = {"br", "img", "hr", "meta", "link", "input", "col", "wbr", "area", "base", "source", "embed", "param", "track"}
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}

# Sphinx "smart quotes" back to what people type; the reST sources use ASCII.
TYPOGRAPHY = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u2026": "...", "\u00a0": " ", "\u00b6": "", "\u200b": "",
})


def clean_inline(text):
    """Collapses whitespace and normalizes typography."""
    return re.sub(r"\s+", " ", text.translate(TYPOGRAPHY)).strip()


def clean_pre(text):
    """Keeps the lines of a code block (trailing spaces and empty lines dropped)."""
    lines = [line.rstrip() for line in text.translate(TYPOGRAPHY).replace("\t", "    ").split("\n")]
    return "\n".join(line for line in lines if line.strip())


class Blocks(HTMLParser):
    """Flattens the main content of a Sphinx page (div.body[role=main]) into blocks:
    ("h", level, text) for headings, ("p", text) for everything else."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks = []
        self.stack = []  # (tag, skipped) for open non-void elements
        self.body_depth = None  # stack depth at which div.body was opened
        self.skip = 0
        self.table = 0
        self.pre = 0
        self.heading = None
        self.buf = []
        self.buf_pre = False

    def in_body(self):
        return self.body_depth is not None

    def flush(self):
        text = "".join(self.buf)
        self.buf = []
        if self.heading is not None:
            return
        text = clean_pre(text) if self.buf_pre else clean_inline(text)
        self.buf_pre = False
        if text:
            self.blocks.append(("p", text))

    def handle_starttag(self, tag, attrs):
        if tag in VOID_TAGS:
            if self.in_body() and not self.skip:
                if tag == "br":
                    self.buf.append("\n" if self.pre else " ")
                elif tag == "hr" and not self.table:
                    self.flush()
            return
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if not self.in_body():
            self.stack.append((tag, False))
            if tag == "div" and "body" in classes and a.get("role") == "main":
                self.body_depth = len(self.stack)
            return
        skipped = bool(self.skip) or tag in SKIP_TAGS or bool(classes & SKIP_CLASSES)
        self.stack.append((tag, skipped))
        if skipped:
            self.skip += 1
            return
        if tag in HEADINGS:
            self.flush()
            self.heading = (HEADINGS[tag], [])
        elif tag == "table":
            self.flush()
            self.table += 1
        elif self.table:
            if tag == "tr":
                self.flush()
            elif tag in ("td", "th"):
                if "".join(self.buf).strip():
                    self.buf.append(" | ")
            elif tag in BLOCK_TAGS:
                self.buf.append(" ")
        elif tag == "pre":
            self.flush()
            self.pre += 1
            self.buf_pre = True
        elif tag in BLOCK_TAGS:
            self.flush()

    def handle_endtag(self, tag):
        if tag in VOID_TAGS:
            return
        # Pop to the matching open element (tolerates stray end tags).
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                break
        else:
            return
        while len(self.stack) > i:
            depth = len(self.stack)
            open_tag, skipped = self.stack.pop()
            if self.body_depth is None:
                continue
            if depth == self.body_depth:
                self.flush()
                self.body_depth = None
                continue
            if skipped:
                self.skip -= 1
                continue
            self.end_element(open_tag)

    def end_element(self, tag):
        if tag in HEADINGS and self.heading is not None:
            level, parts = self.heading
            self.heading = None
            text = clean_inline("".join(parts))
            if text:
                self.blocks.append(("h", level, text))
        elif tag == "table":
            self.flush()
            self.table -= 1
        elif self.table:
            if tag == "tr":
                self.flush()
            elif tag in BLOCK_TAGS:
                self.buf.append(" ")
        elif tag == "pre":
            self.flush()
            self.pre -= 1
        elif tag in BLOCK_TAGS:
            self.flush()

    def handle_data(self, data):
        if not self.in_body() or self.skip:
            return
        if self.heading is not None:
            self.heading[1].append(data)
        else:
            self.buf.append(data)


def page_blocks(path):
    parser = Blocks()
    with open(path, encoding="utf-8") as f:
        parser.feed(f.read())
    parser.close()
    return parser.blocks


def words(text):
    return len(text.split())


def question_text(heading):
    """The question as a query: numbering and pilcrows gone, whitespace collapsed."""
    text = re.sub(r"^\s*(\d+(\.\d+)*\.?|[A-Z]\.)\s+", "", heading)
    return clean_inline(text)


def faq_pairs(blocks):
    """(question, answer) for every leaf heading below the page title: the answer is
    everything up to the next heading (a leaf has no deeper headings)."""
    heads = [i for i, b in enumerate(blocks) if b[0] == "h"]
    pairs = []
    for n, i in enumerate(heads):
        level = blocks[i][1]
        nxt = heads[n + 1] if n + 1 < len(heads) else len(blocks)
        if level < 2:
            continue
        if nxt < len(blocks) and blocks[nxt][1] > level:
            continue  # has sub-headings: a category, not a question
        answer = "\n\n".join(b[1] for b in blocks[i + 1:nxt])
        pairs.append((question_text(blocks[i][2]), answer))
    return pairs


def sections(blocks):
    """(heading, text) per h1/h2/h3 section; deeper headings become paragraphs."""
    out = []
    heading, paras = None, []
    for b in blocks:
        if b[0] == "h" and b[1] <= 3:
            if heading is not None or paras:
                out.append((heading, paras))
            heading, paras = b[2], []
        elif b[0] == "h":
            paras.append(b[2])
        else:
            paras.append(b[1])
    if heading is not None or paras:
        out.append((heading, paras))
    return [(h or "", "\n\n".join(p)) for h, p in out]


def slug(name):
    return re.sub(r"[^a-z0-9_]+", "-", name.lower()).strip("-")


def write(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--max-distractors", type=int, default=DEFAULT_MAX_DISTRACTORS)
    args = ap.parse_args()

    faq_dir = os.path.join(args.html_dir, "faq")
    if not os.path.isdir(faq_dir):
        sys.exit(f"{args.html_dir}: no faq/ folder (expected the Python HTML docs)")

    docs = {}  # id -> text
    queries = []  # (qid, text)
    qrels = []  # (qid, did)
    skipped_short = 0
    for page in FAQ_PAGES:
        path = os.path.join(faq_dir, page + ".html")
        if not os.path.exists(path):
            sys.exit(f"missing {path}")
        for n, (question, answer) in enumerate(faq_pairs(page_blocks(path)), start=1):
            if words(answer) < MIN_ANSWER_WORDS or not question:
                skipped_short += 1
                continue
            did, qid = f"faq-{page}-{n:03d}", f"q-{page}-{n:03d}"
            docs[did] = answer
            queries.append((qid, question))
            qrels.append((qid, did))

    candidates = []  # (id, text), sorted file order
    for sub, prefix in DISTRACTOR_DIRS:
        d = os.path.join(args.html_dir, sub)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith(".html"):
                continue
            stem = slug(name[: -len(".html")])
            for n, (heading, text) in enumerate(sections(page_blocks(os.path.join(d, name))), start=1):
                if words(text) < MIN_SECTION_WORDS:
                    continue
                body = f"{heading}\n\n{text}" if heading else text
                candidates.append((f"{prefix}-{stem}-{n:03d}", body))
    ids = [did for did, _ in candidates]
    if len(set(ids)) != len(ids):
        sys.exit("two distractor sections got the same id (page names collide after slugging)")
    k = min(args.max_distractors, len(candidates))
    picked = [candidates[j * len(candidates) // k] for j in range(k)] if k else []
    for did, text in picked:
        if did in docs:
            sys.exit(f"duplicate document id {did}")
        docs[did] = text

    docs_dir = os.path.join(args.out_dir, "docs")
    os.makedirs(docs_dir, exist_ok=True)
    for name in os.listdir(docs_dir):  # stale documents from an earlier build
        if name.endswith(".txt"):
            os.remove(os.path.join(docs_dir, name))
    for did in sorted(docs):
        write(os.path.join(docs_dir, did + ".txt"), docs[did] + "\n")
    write(
        os.path.join(args.out_dir, "queries.jsonl"),
        "".join(json.dumps({"_id": q, "text": t}, ensure_ascii=False) + "\n" for q, t in queries),
    )
    write(
        os.path.join(args.out_dir, "qrels.tsv"),
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, d in qrels),
    )

    print(f"queries:        {len(queries)} (FAQ questions; {skipped_short} skipped as too short)")
    print(f"answer docs:    {len(qrels)}")
    print(f"distractors:    {len(picked)} of {len(candidates)} sections of >= {MIN_SECTION_WORDS} words")
    print(f"documents:      {len(docs)}")
    print(f"written to      {args.out_dir}")


if __name__ == "__main__":
    main()
