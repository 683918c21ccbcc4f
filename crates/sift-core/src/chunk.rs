//! "Here is a document's text, give me passages that fit the model": token-bounded chunks split on natural
//! boundaries (text-splitter: paragraphs, then sentences, then words; Markdown structure for `.md`), each
//! keeping its byte range and line so a result can point into the file.

use text_splitter::{ChunkConfig, MarkdownSplitter, TextSplitter};
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use crate::error::{Error, Result};
use crate::extract::{Location, Part};

/// Chunk sizes, in model tokens (special tokens excluded).
#[derive(Debug, Clone, Copy)]
pub struct ChunkOptions {
    pub max_tokens: usize,
    pub overlap_tokens: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        // Tuned on the SciFact dev split (docs/BENCHMARKS.md): close to MiniLM's 256-token window.
        ChunkOptions {
            max_tokens: 240,
            overlap_tokens: 32,
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
        Ok(Chunker {
            text: TextSplitter::new(config(tok.clone())?),
            markdown: MarkdownSplitter::new(config(tok)?),
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
            })
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
