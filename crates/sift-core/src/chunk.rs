//! "Here is a document's text, give me passages that fit the model": token-bounded chunks split on natural
//! boundaries (text-splitter: paragraphs, then sentences, then words; Markdown structure for `.md`), each
//! keeping its byte range and line so a result can point into the file.

use text_splitter::{ChunkConfig, MarkdownSplitter, TextSplitter};
use tokenizers::Tokenizer;

use crate::error::{Error, Result};

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
    /// 1-based page, for paged formats.
    pub page: Option<usize>,
}

/// Which splitting rules to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    /// Splits `text`; chunks come in document order and never cut a UTF-8 character.
    pub fn chunk(&self, text: &str, kind: TextKind) -> Vec<Chunk> {
        let pieces: Vec<(usize, &str)> = match kind {
            TextKind::Markdown => self.markdown.chunk_indices(text).collect(),
            TextKind::Plain | TextKind::Code => self.text.chunk_indices(text).collect(),
        };
        let mut lines = LineCounter::default();
        pieces
            .into_iter()
            .filter(|(_, s)| !s.trim().is_empty())
            .map(|(start, s)| Chunk {
                text: s.to_string(),
                start,
                end: start + s.len(),
                line: lines.line_at(text, start),
                page: None,
            })
            .collect()
    }
}

/// Turns increasing byte offsets into 1-based line numbers in one pass over the text.
#[derive(Default)]
struct LineCounter {
    pos: usize,
    line: usize,
}

impl LineCounter {
    fn line_at(&mut self, text: &str, offset: usize) -> usize {
        if offset < self.pos {
            // Overlapping chunks may step back a little: recount from the start.
            self.pos = 0;
            self.line = 0;
        }
        self.line += text.as_bytes()[self.pos..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.pos = offset;
        self.line + 1
    }
}
