//! "Here is a file, give me its text": decides from a file's name which reader it needs, enforces the size limits
//! every reader shares, and turns failures into a reason the user can read. Plain text is decoded here (UTF-8,
//! UTF-16 with BOM, legacy 8-bit); each document family has its own module:
//! - `html` — visible text of HTML/XHTML (no script, style, hidden elements or head except the title);
//! - `mail` — EML and MBOX: a header line, the decoded text bodies, then readable attachments (one level deep);
//! - `office` — zip-based office documents (DOCX, PPTX, XLSX, ODT, ODP, ODS) and `epub` — EPUB books;
//! - `rtf` — RTF body text (a small tokenizer);
//! - `pdf` — PDF text per page by PDFium (bound at run time), scans and encrypted files reported;
//! - `archive` — the bounded zip reader they share, `xml` — the bounded XML event walker they share.
//!
//! Paged, slide, sheet, chapter and mailbox formats return `parts` (built with `Builder`) so each passage knows
//! where it sits. No reader panics on file data and none recurses on the input's nesting: hostile input ends as `Failed`.

mod archive;
mod epub;
mod html;
mod mail;
mod office;
mod pdf;
mod rtf;
mod xml;

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::chunk::TextKind;
use archive::Archive;

/// Extracted text of one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Extracted {
    pub text: String,
    pub kind: TextKind,
    /// Where each page/slide/sheet/chapter/message starts in `text`, in order of `start`. Text before the
    /// first part has no location. Chunks never span two parts.
    pub parts: Vec<Part>,
}

impl Extracted {
    /// Text without positions (plain text, code, web pages, single mails).
    pub fn plain(text: String, kind: TextKind) -> Self {
        Extracted {
            text,
            kind,
            parts: Vec::new(),
        }
    }
}

/// Builds an [`Extracted`] from located pieces of text: each piece is tidied and follows the previous one after a
/// blank line; a piece with a location starts a [`Part`]. Pieces are tidied one by one (never the whole text
/// afterwards), so part offsets stay true. The text stops growing at `limits::TEXT_BYTES`.
#[derive(Default)]
pub(crate) struct Builder {
    text: String,
    parts: Vec<Part>,
}

impl Builder {
    /// Appends a piece of raw text (tidied here); `location` is where it sits, `None` only before any part.
    pub(crate) fn push(&mut self, location: Option<Location>, raw: &str) {
        self.push_tidy(location, &tidy(raw));
    }

    /// Appends a piece that is already tidy.
    pub(crate) fn push_tidy(&mut self, location: Option<Location>, text: &str) {
        let text = text.trim_matches('\n');
        if text.trim().is_empty() || self.full() {
            return;
        }
        if !self.text.is_empty() {
            push_capped(&mut self.text, "\n\n");
        }
        let start = self.text.len();
        push_capped(&mut self.text, text);
        if let Some(location) = location {
            if self.text.len() > start {
                self.parts.push(Part { start, location });
            }
        }
    }

    /// Whether the text reached `limits::TEXT_BYTES`.
    pub(crate) fn full(&self) -> bool {
        self.text.len() >= limits::TEXT_BYTES
    }

    pub(crate) fn finish(self, kind: TextKind) -> Extracted {
        Extracted {
            text: self.text,
            kind,
            parts: self.parts,
        }
    }
}

/// The start of a located piece of a document's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Byte offset in [`Extracted::text`].
    pub start: usize,
    pub location: Location,
}

/// Where in a document a passage sits, as the user would look for it ("page 12", "slide 4").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "unit", rename_all = "lowercase")]
pub enum Location {
    /// 1-based page of a PDF or paged word-processor document.
    Page { number: u32 },
    /// 1-based slide of a presentation.
    Slide { number: u32 },
    /// 1-based sheet of a workbook, with its name.
    Sheet { number: u32, name: String },
    /// 1-based chapter (spine item) of an e-book, with its title when it has one.
    Chapter { number: u32, title: String },
    /// 1-based message of a mailbox, with its subject: each message is its own search result.
    Message { number: u32, subject: String },
}

impl Location {
    /// The page number, for paged documents (what `search --json` reports as `page`).
    pub fn page(&self) -> Option<u32> {
        match self {
            Location::Page { number } => Some(*number),
            _ => None,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Page { number } => write!(f, "page {number}"),
            Location::Slide { number } => write!(f, "slide {number}"),
            Location::Sheet { name, .. } => write!(f, "sheet {name}"),
            Location::Chapter { number, title } if title.is_empty() => {
                write!(f, "chapter {number}")
            }
            Location::Chapter { title, .. } => write!(f, "chapter \"{title}\""),
            Location::Message { number, subject } if subject.is_empty() => {
                write!(f, "message {number}")
            }
            Location::Message { number, subject } => write!(f, "message {number} \"{subject}\""),
        }
    }
}

/// Why a file was not indexed. `Skipped` is expected (not text); `Failed` is a problem worth showing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExtractError {
    /// Not a format Sift indexes (images, archives, binaries, unsupported documents).
    Skipped(String),
    /// Could not be read (permissions, vanished, I/O error) or is corrupt.
    Failed(String),
}

impl std::fmt::Display for ExtractError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExtractError::Skipped(r) | ExtractError::Failed(r) => f.write_str(r),
        }
    }
}

/// Limits for extraction.
#[derive(Debug, Clone, Copy)]
pub struct ExtractOptions {
    /// Files larger than this are skipped.
    pub max_file_bytes: u64,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            max_file_bytes: 128 * 1024 * 1024,
        }
    }
}

const MARKDOWN: &[&str] = &["md", "markdown", "mdx", "rst", "org", "adoc"];
const PLAIN: &[&str] = &[
    "txt",
    "text",
    "log",
    "csv",
    "tsv",
    "tex",
    "bib",
    "json",
    "jsonl",
    "yaml",
    "yml",
    "toml",
    "ini",
    "cfg",
    "conf",
    "xml",
    "svg",
    "srt",
    "vtt",
    "ics",
    "vcf",
    "properties",
    "env",
];
const CODE: &[&str] = &[
    "rs", "py", "js", "mjs", "cjs", "ts", "tsx", "jsx", "java", "kt", "kts", "scala", "c", "h",
    "cc", "cpp", "cxx", "hpp", "hh", "m", "mm", "go", "rb", "php", "swift", "cs", "fs", "vb", "sh",
    "bash", "zsh", "fish", "ps1", "bat", "sql", "r", "jl", "lua", "pl", "pm", "dart", "ex", "exs",
    "erl", "hs", "ml", "mli", "clj", "cljs", "el", "lisp", "scm", "vue", "svelte", "css", "scss",
    "sass", "less", "gradle", "cmake", "mk", "nix", "zig", "v", "sv", "vhd", "proto", "graphql",
    "tf", "ipynb",
];
/// Formats we know are not plain text; reported as skipped without reading them.
const KNOWN_BINARY: &[&str] = &[
    "png",
    "jpg",
    "jpeg",
    "gif",
    "bmp",
    "tiff",
    "tif",
    "webp",
    "heic",
    "ico",
    "icns",
    "psd",
    "mp3",
    "wav",
    "flac",
    "ogg",
    "m4a",
    "aac",
    "mp4",
    "mov",
    "avi",
    "mkv",
    "webm",
    "zip",
    "gz",
    "tgz",
    "bz2",
    "xz",
    "7z",
    "rar",
    "zst",
    "tar",
    "iso",
    "dmg",
    "exe",
    "dll",
    "so",
    "dylib",
    "o",
    "a",
    "class",
    "jar",
    "wasm",
    "pyc",
    "bin",
    "dat",
    "db",
    "sqlite",
    "ttf",
    "otf",
    "woff",
    "woff2",
    "onnx",
    "safetensors",
    "pt",
    "npy",
    "parquet",
];
/// Document formats Sift cannot read yet; reported as an unsupported type.
const UNSUPPORTED_DOCUMENTS: &[&str] = &["doc", "ppt", "xls", "pages", "key", "numbers", "msg"];

/// Which reader a file needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text(TextKind),
    Html,
    Eml,
    Mbox,
    Office(office::Kind),
    Epub,
    Rtf,
    Pdf,
}

/// Limits every reader shares. Generous for real documents, small enough that a hostile file is cut short.
pub(crate) mod limits {
    /// Entries in one zip archive.
    pub const ZIP_ENTRIES: usize = 20_000;
    /// Uncompressed bytes read from one zip entry.
    pub const ZIP_ENTRY_BYTES: u64 = 64 * 1024 * 1024;
    /// Uncompressed bytes read from one zip archive in total.
    pub const ZIP_TOTAL_BYTES: u64 = 256 * 1024 * 1024;
    /// Uncompressed/compressed ratio above which an entry (over `ZIP_RATIO_MIN_BYTES`) is refused.
    pub const ZIP_RATIO: u64 = 100;
    pub const ZIP_RATIO_MIN_BYTES: u64 = 1024 * 1024;
    /// Element nesting in XML and HTML.
    pub const NESTING: usize = 1_000;
    /// Characters of text one document may yield; the rest is dropped.
    pub const TEXT_BYTES: usize = 64 * 1024 * 1024;
    /// Spreadsheet cells read from one workbook.
    pub const CELLS: usize = 200_000;
    /// Bytes of one mail message (in an MBOX, each message).
    pub const MESSAGE_BYTES: usize = 32 * 1024 * 1024;
    /// Chapters of an EPUB, slides of a presentation, sheets of a workbook.
    pub const PARTS: usize = 5_000;
}

/// Lower-cased extension of a path ("" when none).
pub fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default()
}

/// Which reader a file needs, by its name; unsupported types are skipped with a reason.
fn format(path: &Path) -> Result<Format, ExtractError> {
    let ext = extension(path);
    let e = ext.as_str();
    Ok(match e {
        "html" | "htm" | "xhtml" | "xht" | "shtml" => Format::Html,
        "eml" => Format::Eml,
        "mbox" | "mbx" => Format::Mbox,
        "epub" => Format::Epub,
        "rtf" => Format::Rtf,
        "pdf" => Format::Pdf,
        _ => {
            if let Some(kind) = office::Kind::from_extension(e) {
                Format::Office(kind)
            } else if MARKDOWN.contains(&e) {
                Format::Text(TextKind::Markdown)
            } else if CODE.contains(&e) {
                Format::Text(TextKind::Code)
            } else if PLAIN.contains(&e) || e.is_empty() {
                Format::Text(TextKind::Plain)
            } else if UNSUPPORTED_DOCUMENTS.contains(&e) || KNOWN_BINARY.contains(&e) {
                return Err(ExtractError::Skipped(format!("unsupported type (.{e})")));
            } else {
                // Unknown extension: sniff the content.
                Format::Text(TextKind::Plain)
            }
        }
    })
}

/// Whether reading `path` runs a document parser (anything but plain text and code), which the indexer runs
/// in the extraction worker process (see `worker.rs`).
pub fn needs_isolation(path: &Path) -> bool {
    matches!(format(path), Ok(f) if !matches!(f, Format::Text(_)))
}

/// Reads a file and returns its text.
pub fn extract(path: &Path, options: &ExtractOptions) -> Result<Extracted, ExtractError> {
    let format = format(path)?;
    let meta = std::fs::metadata(path).map_err(|e| ExtractError::Failed(io_reason(&e)))?;
    if !meta.is_file() {
        return Err(ExtractError::Skipped("not a regular file".into()));
    }
    // Mail is read a message at a time, each capped at `limits::MESSAGE_BYTES`, and its text capped at
    // `limits::TEXT_BYTES`: a mailbox of many gigabytes is normal and never held whole.
    let mail = matches!(format, Format::Mbox | Format::Eml);
    if meta.len() > options.max_file_bytes && !mail {
        return Err(ExtractError::Skipped(format!(
            "too large ({} MB; the limit is {} MB)",
            meta.len() / (1024 * 1024),
            options.max_file_bytes / (1024 * 1024)
        )));
    }
    if format == Format::Pdf {
        return pdf::extract(path);
    }
    let text = match format {
        Format::Office(kind) => {
            return office::extract(&mut Archive::open(path, kind.what())?, kind)
        }
        Format::Epub => return epub::extract(&mut Archive::open(path, epub::WHAT)?),
        Format::Mbox => return mail::extract_mbox(path),
        Format::Eml => {
            let bytes = read_all(path, meta.len(), limits::MESSAGE_BYTES as u64)?;
            mail::extract_eml(&bytes)?
        }
        _ => {
            let bytes = read_all(path, meta.len(), options.max_file_bytes)?;
            match format {
                Format::Html => html::extract(&bytes)?,
                Format::Rtf => rtf::extract(&bytes)?,
                _ => decode(&bytes)?,
            }
        }
    };
    let kind = match format {
        Format::Text(kind) => kind,
        _ => TextKind::Plain,
    };
    Ok(Extracted::plain(text, kind))
}

/// The text of a file held in memory, by its name: a mail attachment. Read by the same readers within the same
/// limits; mail inside mail is not opened (attachments are read one level deep).
pub(crate) fn extract_attachment(name: &str, bytes: &[u8]) -> Result<String, ExtractError> {
    let format = format(Path::new(name))?;
    let text = match format {
        Format::Office(kind) => {
            office::extract(&mut Archive::from_bytes(bytes, kind.what())?, kind)?.text
        }
        Format::Epub => epub::extract(&mut Archive::from_bytes(bytes, epub::WHAT)?)?.text,
        Format::Pdf => pdf::extract_bytes(bytes)?.text,
        Format::Eml | Format::Mbox => {
            return Err(ExtractError::Skipped(
                "mail inside mail is not opened".into(),
            ))
        }
        Format::Html => html::extract(bytes)?,
        Format::Rtf => rtf::extract(bytes)?,
        Format::Text(_) => decode(bytes)?,
    };
    Ok(text)
}

/// Reads at most `max` bytes of a file (`max + 1` for callers that check for more).
fn read_all(path: &Path, len: u64, max: u64) -> Result<Vec<u8>, ExtractError> {
    let mut bytes = Vec::with_capacity(len.min(max) as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(max + 1).read_to_end(&mut bytes))
        .map_err(|e| ExtractError::Failed(io_reason(&e)))?;
    Ok(bytes)
}

/// Appends text to an output buffer unless the buffer already holds `limits::TEXT_BYTES`.
pub(crate) fn push_capped(out: &mut String, text: &str) {
    let room = limits::TEXT_BYTES.saturating_sub(out.len());
    if text.len() <= room {
        out.push_str(text);
    } else {
        let mut end = room;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        out.push_str(&text[..end]);
    }
}

/// Tidies extracted text: trims trailing spaces on each line and keeps at most one blank line in a row.
pub(crate) fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "the file disappeared before it could be read".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => format!("could not be read: {e}"),
    }
}

/// Decodes bytes to text, or says why they are not text.
pub fn decode(bytes: &[u8]) -> Result<String, ExtractError> {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        if had_errors && enc != encoding_rs::UTF_8 {
            return Err(ExtractError::Failed(format!("invalid {} text", enc.name())));
        }
        return Ok(text.into_owned());
    }
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return Err(ExtractError::Skipped("binary content".into()));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) if e.error_len().is_none() && !bytes[..e.valid_up_to()].is_ascii() => {
            // UTF-8 text whose last character was cut (a file copied mid-write): keep the rest.
            Ok(String::from_utf8_lossy(bytes).into_owned())
        }
        Err(_) => {
            // Not UTF-8: legacy text (Windows-1252, Shift_JIS, GBK, KOI8-R…). Reject if it looks binary.
            let controls = head
                .iter()
                .filter(|&&b| b < 0x09 || (0x0e..0x20).contains(&b))
                .count();
            if controls * 20 > head.len().max(1) {
                return Err(ExtractError::Skipped("binary content".into()));
            }
            let (text, _, _) = guess_legacy(bytes).decode(bytes);
            Ok(text.into_owned())
        }
    }
}

/// The legacy encoding of text that is not UTF-8, guessed by `chardetng` from its first 64 KB.
pub(crate) fn guess_legacy(bytes: &[u8]) -> &'static encoding_rs::Encoding {
    const SAMPLE: usize = 64 * 1024;
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(&bytes[..bytes.len().min(SAMPLE)], bytes.len() <= SAMPLE);
    detector.guess(None, chardetng::Utf8Detection::Allow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_utf8_utf16_and_latin1() {
        assert_eq!(decode("héllo".as_bytes()).unwrap(), "héllo");
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "hé".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&utf16).unwrap(), "hé");
        assert_eq!(decode(&[b'c', b'a', b'f', 0xE9]).unwrap(), "café");
        // Legacy encodings other than Windows-1252 are detected, not read as Latin-1 mojibake.
        let japanese = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。";
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(japanese);
        assert_eq!(decode(&sjis).unwrap(), japanese);
        let russian = "Все счастливые семьи похожи друг на друга, каждая несчастливая семья несчастлива по-своему.";
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(russian);
        assert_eq!(decode(&cp1251).unwrap(), russian);
    }

    #[test]
    fn binary_is_skipped_with_a_reason() {
        let err = decode(&[0x7f, b'E', b'L', b'F', 0, 0, 1]).unwrap_err();
        assert_eq!(err, ExtractError::Skipped("binary content".into()));
        assert!(matches!(
            format(Path::new("a.PNG")),
            Err(ExtractError::Skipped(_))
        ));
        assert!(
            matches!(format(Path::new("a.pages")), Err(ExtractError::Skipped(r)) if r == "unsupported type (.pages)")
        );
        assert_eq!(
            format(Path::new("a.DOCX")).unwrap(),
            Format::Office(office::Kind::Docx)
        );
        assert_eq!(
            format(Path::new("README")).unwrap(),
            Format::Text(TextKind::Plain)
        );
        assert_eq!(
            format(Path::new("x.md")).unwrap(),
            Format::Text(TextKind::Markdown)
        );
    }

    #[test]
    fn huge_and_vanished_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.txt");
        std::fs::write(&p, vec![b'a'; 2048]).unwrap();
        let err = extract(
            &p,
            &ExtractOptions {
                max_file_bytes: 1024,
            },
        )
        .unwrap_err();
        assert!(
            matches!(err, ExtractError::Skipped(ref r) if r.contains("too large")),
            "{err:?}"
        );
        let gone = extract(&dir.path().join("gone.txt"), &ExtractOptions::default()).unwrap_err();
        assert!(
            matches!(gone, ExtractError::Failed(ref r) if r.contains("disappeared")),
            "{gone:?}"
        );
    }
}
