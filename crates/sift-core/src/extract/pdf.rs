//! "Here is a PDF, give me its text page by page", by PDFium (`pdfium-render`, the library bound at run time).
//!
//! The library is found like ONNX Runtime's (`PDFIUM_DYLIB_PATH`, beside the executable or in an installed
//! bundle, then the setup cache where `scripts/setup.sh` puts it from the pypdfium2 wheel) and bound once per
//! process. Without it, PDFs are skipped with a reason that says what to do; nothing else changes.
//!
//! Each page with usable text becomes a [`Part`] at [`Location::Page`]. A page without a text layer (almost no
//! characters but an image: a scan) or whose characters are mostly unmapped glyphs (U+FFFD, private use) has
//! no usable text; a file made (mostly) of such pages is skipped as scanned. Encrypted files are skipped,
//! damaged and truncated ones fail with a reason. PDFium cannot be interrupted: the extraction worker process
//! is what bounds its time and memory; here calls are serialised (PDFium is not thread-safe).

use std::io::{Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use pdfium_render::prelude::*;

use super::{limits, push_capped, tidy, ExtractError, Extracted, Location, Part};
use crate::chunk::TextKind;

/// Pages read from one document; the rest is dropped.
pub const MAX_PAGES: usize = 20_000;
/// Page objects looked at when deciding whether a page is a scan.
const OBJECTS_CHECKED: usize = 10_000;
/// A page with fewer usable (non-space, mapped) characters than this has no text layer worth indexing.
const MIN_PAGE_CHARS: usize = 10;
/// Bytes at the end of a file where a complete PDF has its `startxref` / `%%EOF`.
const TAIL_BYTES: u64 = 1024;

pub const MISSING: &str = "PDF reader not installed (reinstall Sift)";
pub const SCANNED: &str = "scanned \u{2014} no text layer (needs OCR)";
pub const ENCRYPTED: &str = "encrypted (password-protected)";

static PDFIUM: OnceLock<Option<Pdfium>> = OnceLock::new();
/// Held for the whole of one document: PDFium keeps global state, and `thread_safe` only serialises calls.
static CALLS: Mutex<()> = Mutex::new(());

/// The library's file name on this platform.
fn library_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "libpdfium.dylib"
    } else if cfg!(windows) {
        "pdfium.dll"
    } else {
        "libpdfium.so"
    }
}

/// Candidate locations of the PDFium library, in search order. `PDFIUM_DYLIB_PATH`, when set, is the only one.
pub fn candidate_paths() -> Vec<PathBuf> {
    if let Some(p) = std::env::var_os("PDFIUM_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return vec![PathBuf::from(p)];
    }
    crate::paths::library_dirs("pdfium")
        .into_iter()
        .map(|d| d.join(library_name()))
        .collect()
}

/// Binds the library (first call in the process) and returns it, or `None` when it is missing.
fn pdfium() -> Option<&'static Pdfium> {
    PDFIUM.get_or_init(bind).as_ref()
}

fn bind() -> Option<Pdfium> {
    let tried = candidate_paths();
    for path in tried.iter().filter(|p| p.is_file()) {
        match Pdfium::bind_to_library(path) {
            Ok(bindings) => {
                tracing::info!(library = %path.display(), "PDFium loaded");
                return Some(Pdfium::new(bindings));
            }
            Err(e) => {
                tracing::warn!(library = %path.display(), error = %e, "PDFium could not be loaded")
            }
        }
    }
    let tried: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    tracing::warn!(
        ?tried,
        "PDFium not found: PDF files are skipped (scripts/setup.sh installs it; PDFIUM_DYLIB_PATH names it)"
    );
    None
}

/// What one page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageKind {
    /// Usable text.
    Text,
    /// No text layer: next to no characters, at least one image.
    Scanned,
    /// Characters, but mostly unmapped glyphs (a font without a usable character map).
    Garbled,
    /// Blank, or a page PDFium could not load.
    Empty,
}

/// Usable characters (non-space, not U+FFFD, not private use) and unusable ones (U+FFFD, private use).
fn char_counts(text: &str) -> (usize, usize) {
    let mut usable = 0;
    let mut bad = 0;
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        let private = matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{10FFFF}');
        if c == '\u{FFFD}' || private {
            bad += 1;
        } else {
            usable += 1;
        }
    }
    (usable, bad)
}

/// Whether a page's text is mostly unusable glyphs.
fn garbled(usable: usize, bad: usize) -> bool {
    bad > 0 && bad * 2 >= usable
}

/// Classifies a page from its text; `images` is asked only when the text is not enough.
fn classify(text: &str, images: impl FnOnce() -> usize) -> PageKind {
    let (usable, bad) = char_counts(text);
    if usable >= MIN_PAGE_CHARS && !garbled(usable, bad) {
        return PageKind::Text;
    }
    if images() > 0 {
        PageKind::Scanned
    } else if bad > 0 {
        PageKind::Garbled
    } else {
        PageKind::Empty
    }
}

/// The file's verdict from its pages: an error when there is nothing worth indexing.
fn verdict(kinds: &[PageKind]) -> Result<(), ExtractError> {
    let count = |k| kinds.iter().filter(|&&x| x == k).count();
    let (text, scanned, garbled) = (
        count(PageKind::Text),
        count(PageKind::Scanned),
        count(PageKind::Garbled),
    );
    // A scan with a text cover page or a stamp is still a scan: 4 in 5 pages with content.
    if scanned > 0 && (text == 0 || scanned * 5 >= (text + scanned + garbled) * 4) {
        return Err(ExtractError::Skipped(SCANNED.into()));
    }
    if text == 0 && garbled > 0 {
        return Err(ExtractError::Skipped(
            "no readable text (its fonts have no character map)".into(),
        ));
    }
    Ok(())
}

/// PDFium's text: `\r\n` and `\r` as `\n`, control characters (but tabs) dropped.
fn clean(raw: &str) -> String {
    let text = raw.replace("\r\n", "\n").replace('\r', "\n");
    text.chars()
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .filter(|&c| c != '\u{FFFE}' && c != '\u{FFFF}')
        .collect()
}

fn load_error(e: PdfiumError) -> ExtractError {
    match e {
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::PasswordError) => {
            ExtractError::Skipped(ENCRYPTED.into())
        }
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::SecurityError) => {
            ExtractError::Skipped("encrypted (unsupported encryption)".into())
        }
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::FormatError) => {
            ExtractError::Failed("corrupt PDF (not a readable PDF file)".into())
        }
        PdfiumError::IoError(e) => ExtractError::Failed(super::io_reason(&e)),
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::FileError) => {
            ExtractError::Failed("could not be read".into())
        }
        _ => ExtractError::Failed("corrupt PDF (unreadable structure)".into()),
    }
}

/// A complete PDF ends with `startxref` … `%%EOF`; a file cut short (copied mid-write, a broken download)
/// does not, and PDFium would quietly read what is left.
fn check_complete(path: &Path) -> Result<(), ExtractError> {
    let mut file =
        std::fs::File::open(path).map_err(|e| ExtractError::Failed(super::io_reason(&e)))?;
    let len = file
        .metadata()
        .map_err(|e| ExtractError::Failed(super::io_reason(&e)))?
        .len();
    let mut tail = Vec::with_capacity(TAIL_BYTES as usize);
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))
        .and_then(|_| file.take(TAIL_BYTES).read_to_end(&mut tail))
        .map_err(|e| ExtractError::Failed(super::io_reason(&e)))?;
    if contains(&tail, b"%%EOF") || contains(&tail, b"startxref") {
        Ok(())
    } else {
        Err(ExtractError::Failed(
            "truncated PDF (the end of the file is missing)".into(),
        ))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Reads a PDF's text, one part per page with text.
pub(crate) fn extract(path: &Path) -> Result<Extracted, ExtractError> {
    with_pdfium(|pdfium| {
        let document = pdfium.load_pdf_from_file(path, None).map_err(load_error)?;
        check_complete(path)?;
        read(&document, &path.display().to_string())
    })
}

/// Reads a PDF held in memory (a mail attachment), like [`extract`].
pub(crate) fn extract_bytes(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    with_pdfium(|pdfium| {
        let document = pdfium
            .load_pdf_from_byte_slice(bytes, None)
            .map_err(load_error)?;
        let tail = &bytes[bytes.len().saturating_sub(TAIL_BYTES as usize)..];
        if !contains(tail, b"%%EOF") && !contains(tail, b"startxref") {
            return Err(ExtractError::Failed(
                "truncated PDF (the end of the file is missing)".into(),
            ));
        }
        read(&document, "attachment")
    })
}

/// Runs `f` with the bound library, one call at a time, turning a panic into this file's failure.
fn with_pdfium(
    f: impl FnOnce(&Pdfium) -> Result<Extracted, ExtractError>,
) -> Result<Extracted, ExtractError> {
    let Some(pdfium) = pdfium() else {
        return Err(ExtractError::Skipped(MISSING.into()));
    };
    let _serial = CALLS.lock().unwrap_or_else(|e| e.into_inner());
    catch_unwind(AssertUnwindSafe(|| f(pdfium))).unwrap_or_else(|_| {
        Err(ExtractError::Failed(
            "corrupt PDF (the PDF reader gave up)".into(),
        ))
    })
}

fn read(document: &PdfDocument<'_>, path: &str) -> Result<Extracted, ExtractError> {
    let pages = document.pages();
    let count = usize::try_from(pages.len()).unwrap_or(0);
    if count > MAX_PAGES {
        tracing::info!(
            path,
            pages = count,
            "PDF: only the first {MAX_PAGES} pages are read"
        );
    }
    let mut text = String::new();
    let mut parts = Vec::new();
    let mut kinds = Vec::new();
    let mut broken = 0;
    for index in 0..count.min(MAX_PAGES) {
        if text.len() >= limits::TEXT_BYTES {
            break;
        }
        let Ok(page) = pages.get(index as PdfPageIndex) else {
            broken += 1;
            kinds.push(PageKind::Empty);
            continue;
        };
        let raw = page.text().map(|t| t.all()).unwrap_or_default();
        let page_text = tidy(&clean(&raw));
        let images = || {
            page.objects()
                .iter()
                .take(OBJECTS_CHECKED)
                .filter(|o| o.object_type() == PdfPageObjectType::Image)
                .count()
        };
        let kind = classify(&page_text, images);
        kinds.push(kind);
        if kind != PageKind::Text {
            continue;
        }
        if !text.is_empty() {
            push_capped(&mut text, "\n\n");
        }
        let start = text.len();
        push_capped(&mut text, &page_text);
        if text.len() > start {
            parts.push(Part {
                start,
                location: Location::Page {
                    number: u32::try_from(index + 1).unwrap_or(u32::MAX),
                },
            });
        }
    }
    if broken > 0 && broken == kinds.len() {
        return Err(ExtractError::Failed(
            "corrupt PDF (no page could be read)".into(),
        ));
    }
    verdict(&kinds)?;
    let without = kinds
        .iter()
        .filter(|&&k| k == PageKind::Scanned || k == PageKind::Garbled)
        .count();
    if without > 0 {
        tracing::info!(
            path,
            pages = kinds.len(),
            without_text = without,
            "PDF: some pages have no usable text"
        );
    }
    Ok(Extracted {
        text,
        kind: TextKind::Plain,
        parts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use PageKind::*;

    #[test]
    fn a_page_with_almost_no_text_and_an_image_is_a_scan() {
        assert_eq!(classify("", || 1), Scanned);
        assert_eq!(classify("  p. 3 \n", || 2), Scanned);
        assert_eq!(classify("", || 0), Empty);
        assert_eq!(classify("  12  ", || 0), Empty);
        // Enough text is text, images or not; the image count is not even asked for.
        assert_eq!(
            classify("The quick brown fox jumps over the lazy dog.", || {
                panic!("not needed")
            }),
            Text
        );
    }

    #[test]
    fn unmapped_glyphs_are_not_text() {
        let garbage =
            "\u{FFFD}\u{FFFD} \u{E001}\u{E002}\u{E003}\u{F8FF} ab\u{FFFD}\u{FFFD}\u{FFFD}cd";
        let (usable, bad) = char_counts(garbage);
        assert_eq!((usable, bad), (4, 9));
        assert_eq!(classify(garbage, || 0), Garbled);
        assert_eq!(classify(garbage, || 1), Scanned);
        let mostly_fine = "A sentence with one odd glyph \u{FFFD} in the middle of it.";
        assert_eq!(classify(mostly_fine, || 0), Text);
        let mut long_garbage = "\u{E000}".repeat(300);
        long_garbage.push_str(&"word ".repeat(20));
        assert_eq!(classify(&long_garbage, || 0), Garbled);
    }

    #[test]
    fn files_of_scans_are_skipped_mixed_files_keep_their_text() {
        let scanned = Err(ExtractError::Skipped(SCANNED.into()));
        assert_eq!(verdict(&[Scanned, Scanned, Empty]), scanned);
        assert_eq!(
            verdict(&[Text, Scanned, Scanned, Scanned, Scanned]),
            scanned
        );
        assert_eq!(verdict(&[Text, Scanned, Scanned]), Ok(()));
        assert_eq!(verdict(&[Text, Empty, Empty]), Ok(()));
        assert_eq!(verdict(&[Empty]), Ok(()));
        assert_eq!(verdict(&[]), Ok(()));
        assert!(
            matches!(verdict(&[Garbled, Empty]), Err(ExtractError::Skipped(r)) if r.contains("no readable text"))
        );
        assert_eq!(verdict(&[Text, Garbled]), Ok(()));
    }

    #[test]
    fn pdfium_line_ends_and_controls_are_normalised() {
        assert_eq!(
            clean("one\r\ntwo\rthree\u{2}\tfour\u{FFFE}"),
            "one\ntwo\nthree\tfour"
        );
    }
}
