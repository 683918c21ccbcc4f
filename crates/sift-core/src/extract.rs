//! "Here is a file, give me its text": decides whether a file is something Sift can read, decodes it
//! (UTF-8, UTF-16 with BOM, legacy single-byte encodings via encoding_rs), and rejects binary, huge or
//! unsupported files with a reason the user can read. Other formats (PDF, DOCX, ...) plug in here.

use std::io::Read;
use std::path::Path;

use crate::chunk::TextKind;

/// Extracted text of one file.
#[derive(Debug, Clone)]
pub struct Extracted {
    pub text: String,
    pub kind: TextKind,
}

/// Why a file was not indexed. `Skipped` is expected (not text); `Failed` is a problem worth showing.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    "html",
    "htm",
    "svg",
    "srt",
    "vtt",
    "eml",
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
/// Document formats that need their own extractor (a later step); reported so the user knows why.
const DOCUMENTS: &[&str] = &[
    "pdf", "docx", "doc", "odt", "rtf", "pptx", "ppt", "xlsx", "xls", "ods", "epub", "pages",
    "key", "numbers",
];

/// Lower-cased extension of a path ("" when none).
pub fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default()
}

/// Whether a file with this path is worth reading at all (cheap, by name).
pub fn classify(path: &Path) -> Result<TextKind, ExtractError> {
    let ext = extension(path);
    if MARKDOWN.contains(&ext.as_str()) {
        Ok(TextKind::Markdown)
    } else if CODE.contains(&ext.as_str()) {
        Ok(TextKind::Code)
    } else if PLAIN.contains(&ext.as_str()) || ext.is_empty() {
        Ok(TextKind::Plain)
    } else if DOCUMENTS.contains(&ext.as_str()) {
        Err(ExtractError::Skipped(format!(
            ".{ext} documents are not supported yet"
        )))
    } else if KNOWN_BINARY.contains(&ext.as_str()) {
        Err(ExtractError::Skipped(format!("not a text file (.{ext})")))
    } else {
        // Unknown extension: sniff the content.
        Ok(TextKind::Plain)
    }
}

/// Reads and decodes a file.
pub fn extract(path: &Path, options: &ExtractOptions) -> Result<Extracted, ExtractError> {
    let kind = classify(path)?;
    let meta = std::fs::metadata(path).map_err(|e| ExtractError::Failed(io_reason(&e)))?;
    if !meta.is_file() {
        return Err(ExtractError::Skipped("not a regular file".into()));
    }
    if meta.len() > options.max_file_bytes {
        return Err(ExtractError::Skipped(format!(
            "too large ({} MB; the limit is {} MB)",
            meta.len() / (1024 * 1024),
            options.max_file_bytes / (1024 * 1024)
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(options.max_file_bytes + 1).read_to_end(&mut bytes))
        .map_err(|e| ExtractError::Failed(io_reason(&e)))?;
    let text = decode(&bytes)?;
    Ok(Extracted { text, kind })
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
            // Not UTF-8: legacy 8-bit text (Windows-1252 is the common case). Reject if it looks binary.
            let controls = head
                .iter()
                .filter(|&&b| b < 0x09 || (0x0e..0x20).contains(&b))
                .count();
            if controls * 20 > head.len().max(1) {
                return Err(ExtractError::Skipped("binary content".into()));
            }
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            Ok(text.into_owned())
        }
    }
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
    }

    #[test]
    fn binary_is_skipped_with_a_reason() {
        let err = decode(&[0x7f, b'E', b'L', b'F', 0, 0, 1]).unwrap_err();
        assert_eq!(err, ExtractError::Skipped("binary content".into()));
        assert!(matches!(
            classify(Path::new("a.PNG")),
            Err(ExtractError::Skipped(_))
        ));
        assert!(
            matches!(classify(Path::new("a.pdf")), Err(ExtractError::Skipped(r)) if r.contains("pdf"))
        );
        assert_eq!(classify(Path::new("README")).unwrap(), TextKind::Plain);
        assert_eq!(classify(Path::new("x.md")).unwrap(), TextKind::Markdown);
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
