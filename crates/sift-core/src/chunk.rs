//! "Here is a document's text, give me passages that fit the model": token-bounded chunks split on natural
//! boundaries (text-splitter: paragraphs, then sentences, then words; Markdown structure for `.md`), each
//! keeping its byte range and line so a result can point into the file.
//!
//! Each chunk of more than one window's worth of tokens is also cut into *windows* (a sentence or a few, at
//! most [`ChunkOptions::window_tokens`]): a chunk is what a result shows and what keyword search ranks; its
//! windows are extra vectors, so one sentence about the query inside a page about something else is still
//! found by meaning (a 240-token chunk's vector is mostly about the rest of the page).

use serde::{Deserialize, Serialize};
use text_splitter::{ChunkConfig, MarkdownSplitter, TextSplitter};
use tokenizers::Tokenizer;

use crate::error::{Error, Result};
use crate::extract::{Location, Part};

/// Chunk sizes, in model tokens (special tokens excluded).
#[derive(Debug, Clone, Copy)]
pub struct ChunkOptions {
    pub max_tokens: usize,
    pub overlap_tokens: usize,
    /// Size of the windows a chunk is cut into for sentence-level vectors; 0 turns windows off.
    pub window_tokens: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        // Tuned on the SciFact dev split (docs/BENCHMARKS.md): close to MiniLM's 256-token window.
        ChunkOptions {
            max_tokens: 240,
            overlap_tokens: 32,
            window_tokens: 64,
        }
    }
}

impl ChunkOptions {
    /// Identifies the chunking rules (stored per file: a file chunked otherwise is chunked again).
    pub fn key(&self, model: &str) -> String {
        let base = format!("{model}:{}/{}", self.max_tokens, self.overlap_tokens);
        match self.window_tokens {
            0 => base,
            w => format!("{base}/w{w}"),
        }
    }
}

/// One passage of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub text: String,
    /// Byte range in the document's text.
    pub start: usize,
    pub end: usize,
    /// 1-based line of `start`.
    pub line: usize,
    /// Page, slide, sheet, chapter or message, for documents that have them.
    pub location: Option<Location>,
    /// The chunk cut into sentence windows, in order (empty when the chunk is one window already).
    pub windows: Vec<Window>,
}

/// A few sentences of a chunk, embedded on their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub text: String,
    /// Byte range in the document's text (inside its chunk's).
    pub start: usize,
    pub end: usize,
}

impl Chunk {
    /// The texts to embed for this chunk: its own, then its windows'.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.text.as_str()).chain(self.windows.iter().map(|w| w.text.as_str()))
    }

    /// How many vectors the chunk has: one, plus one per window.
    pub fn units(&self) -> usize {
        1 + self.windows.len()
    }

    /// 1-based line where `window` starts.
    pub fn line_of(&self, window: &Window) -> usize {
        let within = window.start.saturating_sub(self.start).min(self.text.len());
        self.line
            + self.text.as_bytes()[..within]
                .iter()
                .filter(|&&c| c == b'\n')
                .count()
    }
}
/// Which splitting rules to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextKind {
    Plain,
    Markdown,
    Code,
}

/// Splits documents into token-bounded chunks with the embedding model's tokenizer.
pub struct Chunker {
    text: TextSplitter<Tokenizer>,
    markdown: MarkdownSplitter<Tokenizer>,
    windows: Option<TextSplitter<Tokenizer>>,
}

impl Chunker {
    /// `tokenizer` should be the model's; its truncation is turned off here so sizes are measured in full.
    pub fn new(tokenizer: &Tokenizer, options: ChunkOptions) -> Result<Self> {
        let mut tok = tokenizer.clone();
        tok.with_truncation(None)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        tok.with_padding(None);
        let config = |t: Tokenizer| {
            ChunkConfig::new(options.max_tokens.max(8))
                .with_sizer(t)
                .with_overlap(options.overlap_tokens.min(options.max_tokens / 2))
                .map_err(|e| Error::Invalid(format!("chunk options: {e}")))
        };
        // Windows only make sense well below a chunk's size.
        let windows = (options.window_tokens > 0
            && options.window_tokens * 2 <= options.max_tokens)
            .then(|| {
                TextSplitter::new(ChunkConfig::new(options.window_tokens).with_sizer(tok.clone()))
            });
        Ok(Chunker {
            text: TextSplitter::new(config(tok.clone())?),
            markdown: MarkdownSplitter::new(config(tok)?),
            windows,
        })
    }

    /// Splits `text`, lazily; chunks come in document order and never cut a UTF-8 character. A large text is cut into sections of at most [`SECTION_BYTES`] at
    /// paragraph or line breaks, each chunked on its own, so time to the first chunk and memory do not grow
    /// with the text (the splitter measures whole semantic units with the tokenizer).
    /// `parts` (sorted by start) cut the text into located pieces: no chunk spans two of them, and each chunk
    /// carries the location of the piece it is in.
    pub fn stream<'a>(
        &'a self,
        text: &'a str,
        kind: TextKind,
        parts: &'a [Part],
    ) -> impl Iterator<Item = Chunk> + 'a {
        let mut lines = LineCounter::default();
        pieces(text, parts)
            .flat_map(|(offset, piece, location)| {
                sections(piece).map(move |(start, s)| (offset + start, s, location))
            })
            .flat_map(move |(offset, section, location)| {
                let pieces: Vec<(usize, &str)> = match kind {
                    TextKind::Markdown => self.markdown.chunk_indices(section).collect(),
                    TextKind::Plain | TextKind::Code => self.text.chunk_indices(section).collect(),
                };
                pieces
                    .into_iter()
                    .map(move |(start, s)| (offset + start, s, location))
            })
            .filter(|(_, s, _)| !s.trim().is_empty())
            .map(move |(start, s, location)| Chunk {
                text: s.to_string(),
                start,
                end: start + s.len(),
                line: lines.line_at(text, start),
                location: location.cloned(),
                windows: self.windows_of(start, s),
            })
    }

    /// Cuts a chunk (at `offset` in the document) into windows; none when it fits in one.
    fn windows_of(&self, offset: usize, chunk: &str) -> Vec<Window> {
        let Some(splitter) = &self.windows else {
            return Vec::new();
        };
        let windows: Vec<Window> = splitter
            .chunk_indices(chunk)
            .filter(|(_, w)| !w.trim().is_empty())
            .map(|(start, w)| Window {
                text: w.to_string(),
                start: offset + start,
                end: offset + start + w.len(),
            })
            .collect();
        if windows.len() < 2 {
            Vec::new()
        } else {
            windows
        }
    }
}

/// Cuts `text` at the parts' starts: (byte offset, piece, location of the piece). Starts out of order, out
/// of range or inside a character are ignored (the piece runs on).
fn pieces<'a>(
    text: &'a str,
    parts: &'a [Part],
) -> impl Iterator<Item = (usize, &'a str, Option<&'a Location>)> + 'a {
    let mut bounds: Vec<(usize, Option<&Location>)> = vec![(0, None)];
    for part in parts {
        let last = bounds.last().map_or(0, |b| b.0);
        if part.start < last || part.start > text.len() || !text.is_char_boundary(part.start) {
            continue;
        }
        if part.start == last {
            bounds.pop();
        }
        bounds.push((part.start, Some(&part.location)));
    }
    let ends: Vec<usize> = bounds
        .iter()
        .skip(1)
        .map(|b| b.0)
        .chain(std::iter::once(text.len()))
        .collect();
    bounds
        .into_iter()
        .zip(ends)
        .filter(|((start, _), end)| end > start)
        .map(move |((start, location), end)| (start, &text[start..end], location))
}

/// Texts longer than this are chunked section by section (see [`Chunker::stream`]).
pub const SECTION_BYTES: usize = 64 * 1024;

/// Cuts `text` into sections of at most [`SECTION_BYTES`], each ending at the last paragraph break, else
/// line break, else space in its window (else at a character boundary). Yields (byte offset, section).
fn sections(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= text.len() {
            return None;
        }
        let rest = &text[start..];
        let len = if rest.len() <= SECTION_BYTES {
            rest.len()
        } else {
            let mut limit = SECTION_BYTES;
            while !rest.is_char_boundary(limit) {
                limit -= 1;
            }
            let window = &rest[..limit];
            let min = limit / 2;
            [
                window.rfind("\n\n").map(|i| i + 2),
                window.rfind('\n').map(|i| i + 1),
                window.rfind(char::is_whitespace).map(|i| i + 1),
            ]
            .into_iter()
            .flatten()
            .find(|&i| i >= min && rest.is_char_boundary(i))
            .unwrap_or(limit)
        };
        let section = (start, &rest[..len]);
        start += len;
        Some(section)
    })
}

/// Turns increasing byte offsets into 1-based line numbers in one pass over the text.
#[derive(Default)]
struct LineCounter {
    pos: usize,
    line: usize,
}

impl LineCounter {
    fn line_at(&mut self, text: &str, offset: usize) -> usize {
        let newlines = |a: usize, b: usize| {
            text.as_bytes()[a..b]
                .iter()
                .filter(|&&c| c == b'\n')
                .count()
        };
        if offset < self.pos {
            // Overlapping chunks step back a little: uncount what lies between.
            self.line -= newlines(offset, self.pos);
        } else {
            self.line += newlines(self.pos, offset);
        }
        self.pos = offset;
        self.line + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_cover_the_text_in_bounded_pieces_at_breaks() {
        let small = "one paragraph\n\nanother";
        assert_eq!(sections(small).collect::<Vec<_>>(), vec![(0, small)]);
        let mut big = String::new();
        let mut i = 0;
        while big.len() < 5 * SECTION_BYTES {
            i += 1;
            big.push_str(&format!("Line {i} with some words, é and 漢字.\n"));
            if i % 50 == 0 {
                big.push('\n');
            }
        }
        let parts: Vec<(usize, &str)> = sections(&big).collect();
        assert!(parts.len() >= 5);
        let mut at = 0;
        for (offset, part) in &parts {
            assert_eq!(*offset, at, "contiguous");
            assert!(part.len() <= SECTION_BYTES);
            at += part.len();
        }
        assert_eq!(at, big.len());
        for (_, part) in &parts[..parts.len() - 1] {
            assert!(part.ends_with("\n\n"), "cut at a paragraph break");
        }
        // No break at all: cut at a character boundary.
        let blob = "é".repeat(SECTION_BYTES);
        let parts: Vec<_> = sections(&blob).collect();
        assert_eq!(parts.iter().map(|p| p.1.len()).sum::<usize>(), blob.len());
    }

    #[test]
    fn parts_cut_the_text_and_locate_each_piece() {
        let text = "intro\npage one text\npage two text";
        let parts = vec![
            Part {
                start: 6,
                location: Location::Page { number: 1 },
            },
            Part {
                start: 20,
                location: Location::Page { number: 2 },
            },
            // Out of order: ignored.
            Part {
                start: 3,
                location: Location::Page { number: 9 },
            },
        ];
        let got: Vec<(usize, &str, Option<u32>)> = pieces(text, &parts)
            .map(|(o, s, l)| (o, s, l.and_then(Location::page)))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, "intro\n", None),
                (6, "page one text\n", Some(1)),
                (20, "page two text", Some(2)),
            ]
        );
        // A part at 0 replaces the unlocated start.
        let at0 = [Part {
            start: 0,
            location: Location::Slide { number: 1 },
        }];
        let got: Vec<_> = pieces("abc", &at0).collect();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].2, Some(&Location::Slide { number: 1 }));
    }

    /// One token per whitespace-separated word, so sizes are easy to check.
    fn word_tokenizer() -> Tokenizer {
        use tokenizers::models::wordlevel::WordLevel;
        use tokenizers::pre_tokenizers::whitespace::WhitespaceSplit;
        let vocab = [("[UNK]".to_string(), 0u32)].into_iter().collect();
        let model = WordLevel::builder()
            .vocab(vocab)
            .unk_token("[UNK]".into())
            .build()
            .unwrap();
        let mut tok = Tokenizer::new(model);
        tok.with_pre_tokenizer(Some(WhitespaceSplit));
        tok
    }

    #[test]
    fn long_chunks_are_cut_into_sentence_windows_inside_them() {
        let options = ChunkOptions {
            max_tokens: 60,
            overlap_tokens: 0,
            window_tokens: 16,
        };
        let chunker = Chunker::new(&word_tokenizer(), options).unwrap();
        let sentence = |i: usize| format!("Sentence number {i} says one small thing here.");
        let text = (0..30).map(sentence).collect::<Vec<_>>().join(" ");
        let chunks: Vec<Chunk> = chunker.stream(&text, TextKind::Plain, &[]).collect();
        assert!(chunks.len() >= 4, "{}", chunks.len());
        let long: Vec<&Chunk> = chunks.iter().filter(|c| !c.windows.is_empty()).collect();
        assert!(!long.is_empty());
        for c in &long {
            assert_eq!(c.units(), 1 + c.windows.len());
            assert!(c.windows.len() >= 2);
            let mut at = c.start;
            for w in &c.windows {
                // Inside the chunk, in order, each its own slice of the document, within the window size.
                assert!(
                    w.start >= at && w.end <= c.end,
                    "{w:?} in {}..{}",
                    c.start,
                    c.end
                );
                assert_eq!(&text[w.start..w.end], w.text);
                assert!(w.text.split_whitespace().count() <= 16, "{:?}", w.text);
                at = w.end;
            }
            // Whole sentences: each window ends at the end of one.
            assert!(c.windows.iter().all(|w| w.text.trim_end().ends_with('.')));
            let texts: Vec<&str> = c.texts().collect();
            assert_eq!(texts[0], c.text);
            assert_eq!(texts.len(), c.units());
        }
        // A chunk that fits in one window has no windows.
        let short: Vec<Chunk> = chunker
            .stream("A short note. Two sentences.", TextKind::Plain, &[])
            .collect();
        assert_eq!(short.len(), 1);
        assert!(short[0].windows.is_empty());
        // Windows off: none anywhere, and the chunking key says so.
        let off = ChunkOptions {
            window_tokens: 0,
            ..options
        };
        let plain = Chunker::new(&word_tokenizer(), off).unwrap();
        assert!(plain
            .stream(&text, TextKind::Plain, &[])
            .all(|c| c.windows.is_empty()));
        assert_ne!(off.key("m"), options.key("m"));
        assert_eq!(off.key("m"), "m:60/0");
    }

    #[test]
    fn window_lines_count_from_the_chunk() {
        let chunk = Chunk {
            text: "one\ntwo\nthree".into(),
            start: 10,
            end: 23,
            line: 5,
            location: None,
            windows: Vec::new(),
        };
        let w = Window {
            text: "three".into(),
            start: 18,
            end: 23,
        };
        assert_eq!(chunk.line_of(&w), 7);
    }

    #[test]
    fn line_numbers_follow_overlapping_offsets() {
        let text = "a\nb\nc\nd\ne\n";
        let mut lines = LineCounter::default();
        assert_eq!(lines.line_at(text, 0), 1);
        assert_eq!(lines.line_at(text, 6), 4);
        assert_eq!(lines.line_at(text, 4), 3); // stepped back (overlap)
        assert_eq!(lines.line_at(text, 8), 5);
    }
}
