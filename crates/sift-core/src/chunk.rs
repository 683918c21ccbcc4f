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
    /// `text`'s model token ids (no special tokens), read off the tokenization the chunker made to size it,
    /// so the embedder does not tokenize it again; `None` when they could not be read off (a piece not cut
    /// next to whitespace, or a tokenizer that is not word-local): the embedder then tokenizes the text.
    pub tokens: Option<Vec<u32>>,
}

/// A few sentences of a chunk, embedded on their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub text: String,
    /// Byte range in the document's text (inside its chunk's).
    pub start: usize,
    pub end: usize,
    /// `text`'s model token ids, as [`Chunk::tokens`].
    pub tokens: Option<Vec<u32>>,
}

/// One text to embed: a chunk's or a window's, with its token ids when the chunker has them.
#[derive(Debug, Clone, Copy)]
pub struct Unit<'a> {
    pub text: &'a str,
    pub tokens: Option<&'a [u32]>,
}

impl<'a> Unit<'a> {
    /// A text without token ids (the embedder tokenizes it).
    pub fn text(text: &'a str) -> Self {
        Unit { text, tokens: None }
    }

    /// The model work it costs, in tokens: exact when its ids are known, else estimated from its length
    /// (≈ 4 bytes a token in English prose; text without ids is rare).
    pub fn token_estimate(&self) -> usize {
        self.tokens.map_or(self.text.len() / 4, <[u32]>::len) + 2
    }
}

impl Chunk {
    /// The texts to embed for this chunk: its own, then its windows'.
    pub fn texts(&self) -> impl Iterator<Item = Unit<'_>> {
        std::iter::once(Unit {
            text: &self.text,
            tokens: self.tokens.as_deref(),
        })
        .chain(self.windows.iter().map(|w| Unit {
            text: &w.text,
            tokens: w.tokens.as_deref(),
        }))
    }

    /// How many vectors the chunk has: one, plus one per window.
    pub fn units(&self) -> usize {
        1 + self.windows.len()
    }

    /// The tokens embedding it and its windows costs ([`Unit::token_estimate`]).
    pub fn token_estimate(&self) -> usize {
        self.texts().map(|u| u.token_estimate()).sum()
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
    /// The model's tokenizer, without truncation or padding (sizes are measured in full).
    tokenizer: Tokenizer,
    options: ChunkOptions,
    /// Whether a chunk's size can be read off one tokenization of its section (see [`SectionSizer`]).
    word_local: bool,
}

impl Chunker {
    /// `tokenizer` should be the model's; its truncation is turned off here so sizes are measured in full.
    pub fn new(tokenizer: &Tokenizer, options: ChunkOptions) -> Result<Self> {
        let mut tok = tokenizer.clone();
        tok.with_truncation(None)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        tok.with_padding(None);
        // Checked once here, so a bad configuration is an error before any document is read.
        ChunkConfig::new(options.max_tokens.max(8))
            .with_overlap(options.overlap_tokens.min(options.max_tokens / 2))
            .map_err(|e| Error::Invalid(format!("chunk options: {e}")))?;
        Ok(Chunker {
            word_local: word_local(&tok),
            tokenizer: tok,
            options,
        })
    }

    /// Splits `text`, lazily; chunks come in document order and never cut a UTF-8 character. A large text
    /// is cut into sections of at most [`SECTION_BYTES`] at paragraph or line breaks, each chunked on its
    /// own, so time to the first chunk and memory do not grow with the text (the splitter measures whole
    /// semantic units with the tokenizer).
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
                self.section(section, kind)
                    .into_iter()
                    .map(move |(piece, windows)| (offset, piece, windows, location))
            })
            .map(move |(offset, piece, windows, location)| {
                let start = offset + piece.at;
                Chunk {
                    line: lines.line_at(text, start),
                    start,
                    end: start + piece.text.len(),
                    text: piece.text.to_string(),
                    location: location.cloned(),
                    windows: windows
                        .into_iter()
                        .map(|w| Window {
                            text: w.text.to_string(),
                            start: offset + w.at,
                            end: offset + w.at + w.text.len(),
                            tokens: w.tokens,
                        })
                        .collect(),
                    tokens: piece.tokens,
                }
            })
    }

    /// Chunks one section: each chunk with its windows.
    fn section<'s>(&self, section: &'s str, kind: TextKind) -> Vec<(Piece<'s>, Vec<Piece<'s>>)> {
        let sizer = SectionSizer::new(&self.tokenizer, section, self.word_local);
        let options = self.options;
        let config = ChunkConfig::new(options.max_tokens.max(8)).with_sizer(&sizer);
        // Validated in `new`: the overlap is below the size, so this cannot fail; if it did, the chunks
        // would only lose their overlap.
        let overlap = options.overlap_tokens.min(options.max_tokens / 2);
        let config = match config.with_overlap(overlap) {
            Ok(c) => c,
            Err(_) => ChunkConfig::new(options.max_tokens.max(8)).with_sizer(&sizer),
        };
        let chunks: Vec<(usize, &str)> = match kind {
            TextKind::Markdown => MarkdownSplitter::new(config)
                .chunk_indices(section)
                .collect(),
            TextKind::Plain | TextKind::Code => {
                TextSplitter::new(config).chunk_indices(section).collect()
            }
        };
        // Windows only make sense well below a chunk's size.
        let windows = (options.window_tokens > 0
            && options.window_tokens * 2 <= options.max_tokens)
            .then(|| TextSplitter::new(ChunkConfig::new(options.window_tokens).with_sizer(&sizer)));
        chunks
            .into_iter()
            .filter(|(_, s)| !s.trim().is_empty())
            .map(|(start, s)| {
                let windows = windows
                    .as_ref()
                    .map(|w| windows_of(w, &sizer, start, s))
                    .unwrap_or_default();
                (sizer.piece(start, s), windows)
            })
            .collect()
    }
}

/// A chunk or window of a section: its offset in the section, its text, its tokens when read off.
struct Piece<'s> {
    at: usize,
    text: &'s str,
    tokens: Option<Vec<u32>>,
}

/// Cuts a chunk (at `offset` in its section) into windows; none when it fits in one.
fn windows_of<'s>(
    splitter: &TextSplitter<&SectionSizer<'_>>,
    sizer: &SectionSizer<'_>,
    offset: usize,
    chunk: &'s str,
) -> Vec<Piece<'s>> {
    let windows: Vec<(usize, &str)> = splitter
        .chunk_indices(chunk)
        .filter(|(_, w)| !w.trim().is_empty())
        .collect();
    if windows.len() < 2 {
        return Vec::new();
    }
    windows
        .into_iter()
        .map(|(start, w)| sizer.piece(offset + start, w))
        .collect()
}

/// Whether the tokenizer cuts text into words at whitespace and tokenizes each word alone (BERT's
/// WordPiece with its normalizer and pre-tokenizer): then a piece of text that starts and ends next to
/// whitespace has exactly the tokens of the whole text that lie inside it.
pub(crate) fn word_local(tokenizer: &Tokenizer) -> bool {
    use tokenizers::{ModelWrapper, NormalizerWrapper, PreTokenizerWrapper};
    matches!(tokenizer.get_model(), ModelWrapper::WordPiece(_))
        && matches!(
            tokenizer.get_pre_tokenizer(),
            Some(PreTokenizerWrapper::BertPreTokenizer(_))
        )
        && matches!(
            tokenizer.get_normalizer(),
            None | Some(NormalizerWrapper::BertNormalizer(_))
        )
}

/// Sizes pieces of one section for the splitter. The splitter measures every candidate chunk (a binary
/// search over sentences and words, then again for windows), which tokenized each candidate anew and was
/// most of the reader thread's time. With a word-local tokenizer the section is tokenized once: a piece
/// (a slice of the section) whose ends touch whitespace has exactly the section's tokens that start inside
/// it. Any other piece — cut inside a word or between punctuation, not a slice of the section, or any piece
/// with another tokenizer — is tokenized as before, so sizes are always exact. The same slices of the
/// section's token ids are a chunk's or window's [`Chunk::tokens`].
struct SectionSizer<'t> {
    tokenizer: &'t Tokenizer,
    section: &'t str,
    /// Byte offsets where the section's tokens start, ascending, and the tokens' ids; `None` when sizes are
    /// not read off them.
    tokens: Option<(Vec<usize>, Vec<u32>)>,
}

impl<'t> SectionSizer<'t> {
    fn new(tokenizer: &'t Tokenizer, section: &'t str, word_local: bool) -> Self {
        let tokens = word_local
            .then(|| tokenizer.encode(section, false).ok())
            .flatten()
            .map(|e| {
                let starts: Vec<usize> = e.get_offsets().iter().map(|o| o.0).collect();
                (starts, e.get_ids().to_vec())
            })
            .filter(|(starts, ids)| starts.is_sorted() && starts.len() == ids.len());
        SectionSizer {
            tokenizer,
            section,
            tokens,
        }
    }

    /// Indices of the section's tokens inside `piece`, when they are exactly its tokens.
    fn token_range(&self, piece: &str) -> Option<std::ops::Range<usize>> {
        let (starts, _) = self.tokens.as_ref()?;
        let (a, b) = self.range_of(piece)?;
        (self.clean_cut(a) && self.clean_cut(b))
            .then(|| starts.partition_point(|&s| s < a)..starts.partition_point(|&s| s < b))
    }

    /// `text` (a slice of the section at `at`) with its token ids when they can be read off.
    fn piece<'s>(&self, at: usize, text: &'s str) -> Piece<'s> {
        let tokens = self
            .token_range(text)
            .zip(self.tokens.as_ref())
            .map(|(r, (_, ids))| ids[r].to_vec());
        Piece { at, text, tokens }
    }

    /// Where `piece` lies in the section, when it is a slice of it.
    fn range_of(&self, piece: &str) -> Option<(usize, usize)> {
        let start = (piece.as_ptr() as usize).checked_sub(self.section.as_ptr() as usize)?;
        let end = start.checked_add(piece.len())?;
        // Inside the section's memory and on character boundaries: then it is that slice of it.
        (end <= self.section.len()
            && self.section.is_char_boundary(start)
            && self.section.is_char_boundary(end))
        .then_some((start, end))
    }

    /// Whether no word continues across byte offset `at` of the section.
    fn clean_cut(&self, at: usize) -> bool {
        let space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
        at == 0
            || at == self.section.len()
            || self.section[..at].chars().next_back().is_some_and(space)
            || self.section[at..].chars().next().is_some_and(space)
    }
}

impl text_splitter::ChunkSizer for SectionSizer<'_> {
    fn size(&self, piece: &str) -> usize {
        match self.token_range(piece) {
            Some(r) => r.len(),
            None => text_splitter::ChunkSizer::size(self.tokenizer, piece),
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
            let texts: Vec<&str> = c.texts().map(|u| u.text).collect();
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

    /// The model's own tokenizer, as the indexer gets it (installed by `scripts/setup.sh`).
    fn model_tokenizer() -> Tokenizer {
        let spec = crate::model::spec("all-MiniLM-L6-v2").unwrap();
        let files = crate::model::locate(&spec, crate::model::Precision::Int8, None)
            .expect("the model is installed by scripts/setup.sh (run it first)");
        crate::embed::load_tokenizer(&files.tokenizer, spec.max_tokens).unwrap()
    }

    /// Text with everything that could make a piece's tokens differ from the whole's: accents, CJK,
    /// punctuation runs, words longer than WordPiece's limit, control characters, odd spaces, code, URLs.
    fn awkward_text(paragraphs: usize) -> String {
        let bits = [
            "The café's naïve résumé was ÜBER-long; it said: \"no, not that one!\"",
            "漢字とかなの文章も混ざっています。中文句子在这里。",
            "fn main() { let x = vec![1, 2, 3]; println!(\"{x:?}\"); } // code-ish",
            "See https://example.com/a/b?c=d&e=f#frag or mail me@example.org.",
            "Ünïcödé\u{0b}vertical\u{0c}feed and\u{a0}nbsp and\u{2003}em space, tab\there.",
            "Supercalifragilisticexpialidocious-antidisestablishmentarianism-pneumonoultramicroscopicsilicovolcanoconiosis-floccinaucinihilipilification.",
            "İstanbul ǅemal ﬁne ligatures, emoji 🙂🚀 and a zero\u{200b}width joiner.",
            "Ordinary sentence about braising beef slowly for three hours until tender.",
            "Short. Shorter! Shortest? Yes... no -- maybe; (parenthetical) [bracketed] {braced}.",
        ];
        let mut text = String::new();
        for i in 0..paragraphs {
            for j in 0..(3 + i % 5) {
                text.push_str(bits[(i * 7 + j * 3) % bits.len()]);
                text.push(if j % 4 == 3 { '\n' } else { ' ' });
            }
            text.push_str(if i % 3 == 0 {
                "\n\n# Heading\n\n"
            } else {
                "\n\n"
            });
        }
        text
    }

    #[test]
    fn sizes_read_off_one_tokenization_give_the_same_chunks_as_tokenizing_each_piece() {
        let tokenizer = model_tokenizer();
        let fast = Chunker::new(&tokenizer, ChunkOptions::default()).unwrap();
        assert!(fast.word_local, "MiniLM's tokenizer is word-local");
        let mut exact = Chunker::new(&tokenizer, ChunkOptions::default()).unwrap();
        exact.word_local = false;
        // Several sections, so pieces of each are measured against the right tokenization.
        let text = awkward_text(1200);
        assert!(text.len() > 2 * SECTION_BYTES);
        let ids = |t: &str| tokenizer.encode(t, false).unwrap().get_ids().to_vec();
        for kind in [TextKind::Plain, TextKind::Markdown] {
            let a: Vec<Chunk> = fast.stream(&text, kind, &[]).collect();
            let b: Vec<Chunk> = exact.stream(&text, kind, &[]).collect();
            assert!(a.len() > 50 && a.iter().any(|c| c.windows.len() > 2));
            assert_eq!(a.len(), b.len(), "{kind:?}");
            let (mut read_off, mut units) = (0, 0);
            for (x, y) in a.iter().zip(&b) {
                // The same chunks and windows; only the fast chunker has token ids, and they are exactly
                // what tokenizing each text gives.
                let strip = |c: &Chunk| {
                    let mut c = c.clone();
                    c.tokens = None;
                    c.windows.iter_mut().for_each(|w| w.tokens = None);
                    c
                };
                assert_eq!(strip(x), *y, "{kind:?}");
                assert!(y.texts().all(|u| u.tokens.is_none()));
                for unit in x.texts() {
                    units += 1;
                    if let Some(t) = unit.tokens {
                        assert_eq!(t, ids(unit.text), "{kind:?} {:?}", unit.text);
                        read_off += 1;
                    }
                }
            }
            // Most units are cut next to whitespace; the rest (windows cut inside `"{x:?}"` and the like
            // by the sentence rules) are tokenized by the embedder.
            assert!(read_off * 5 > units * 3, "{read_off} of {units}");
        }
        // In prose every chunk and window is cut next to whitespace.
        let prose = "The committee met on Tuesday to review the budget, and it agreed to fund the new library. \
                     Members asked how the costs would be shared; the treasurer answered at length.\n\n"
            .repeat(80);
        let chunks: Vec<Chunk> = fast.stream(&prose, TextKind::Plain, &[]).collect();
        assert!(chunks.iter().any(|c| c.windows.len() > 2));
        for unit in chunks.iter().flat_map(Chunk::texts) {
            assert_eq!(
                unit.tokens,
                Some(ids(unit.text).as_slice()),
                "{:?}",
                unit.text
            );
        }
    }

    #[test]
    fn a_piece_between_spaces_has_the_tokens_of_the_whole_inside_it() {
        // As the chunker holds it: sizes are measured in full.
        let chunker = Chunker::new(&model_tokenizer(), ChunkOptions::default()).unwrap();
        let tokenizer = chunker.tokenizer;
        let text = awkward_text(40);
        let sizer = SectionSizer::new(&tokenizer, &text, true);
        assert!(sizer.tokens.is_some());
        let cuts: Vec<usize> = text
            .char_indices()
            .filter(|&(i, c)| c == ' ' || c == '\n' || i == 0)
            .map(|(i, _)| i)
            .collect();
        let mut checked = 0;
        for (n, &a) in cuts.iter().enumerate() {
            for &b in cuts[n + 1..].iter().step_by(7).take(12) {
                let piece = &text[a..b];
                assert!(sizer.range_of(piece).is_some());
                let exact = tokenizer.encode(piece, false).unwrap().get_ids().to_vec();
                assert_eq!(
                    text_splitter::ChunkSizer::size(&sizer, piece),
                    exact.len(),
                    "{piece:?}"
                );
                assert_eq!(sizer.piece(a, piece).tokens, Some(exact), "{piece:?}");
                checked += 1;
            }
        }
        assert!(checked > 1000, "{checked}");
        // A copy is not a slice of the section, and a cut inside a word is not clean: both tokenized.
        let copy = text[10..200].to_string();
        assert!(sizer.range_of(&copy).is_none());
        let inside = &text[1..201];
        assert!(!sizer.clean_cut(1) || !sizer.clean_cut(201));
        assert_eq!(
            text_splitter::ChunkSizer::size(&sizer, inside),
            text_splitter::ChunkSizer::size(&tokenizer, inside)
        );
        // Neither has token ids read off the section: the embedder tokenizes them.
        assert!(sizer.piece(10, &copy).tokens.is_none());
        assert!(sizer.piece(1, inside).tokens.is_none());
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
            tokens: None,
        };
        let w = Window {
            text: "three".into(),
            start: 18,
            end: 23,
            tokens: None,
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
