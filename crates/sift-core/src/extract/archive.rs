//! "Read named parts of a zip-based document, within limits": the `zip` crate with explicit bomb defences —
//! an entry-count cap, overlapping entries refused, per-entry and total uncompressed bytes read through `take`
//! (declared sizes are checked too, but never trusted), a compression-ratio cap, and only the parts a reader
//! asks for by name. A zip inside the zip is never opened. It reads a file or bytes already in memory (a mail
//! attachment) alike.

use std::fs::File;
use std::io::{Cursor, Read, Seek};
use std::path::Path;

use zip::result::ZipError;
use zip::ZipArchive;

use super::{limits, ExtractError};

/// What a zip can be read from: a file, or bytes in memory.
trait Source: Read + Seek {}
impl<T: Read + Seek> Source for T {}

pub(crate) struct Archive<'a> {
    zip: ZipArchive<Box<dyn Source + 'a>>,
    /// Uncompressed bytes read so far (all entries).
    read_total: u64,
    what: String,
}

impl<'a> Archive<'a> {
    /// Opens a zip-based document; `what` names it in reasons ("Word document").
    pub(crate) fn open(path: &Path, what: &str) -> Result<Archive<'static>, ExtractError> {
        let file = File::open(path).map_err(|e| ExtractError::Failed(super::io_reason(&e)))?;
        Archive::new(Box::new(file), what)
    }

    /// Reads a zip-based document held in memory (an attachment), within the same limits.
    pub(crate) fn from_bytes(bytes: &'a [u8], what: &str) -> Result<Archive<'a>, ExtractError> {
        Archive::new(Box::new(Cursor::new(bytes)), what)
    }

    fn new(source: Box<dyn Source + 'a>, what: &str) -> Result<Archive<'a>, ExtractError> {
        let mut zip = ZipArchive::new(source).map_err(|e| match e {
            ZipError::Io(e) => ExtractError::Failed(super::io_reason(&e)),
            _ => ExtractError::Failed(format!("not a valid {what} (corrupt or not a zip archive)")),
        })?;
        if zip.len() > limits::ZIP_ENTRIES {
            return Err(ExtractError::Failed(format!(
                "{what} has too many parts ({}; the limit is {})",
                zip.len(),
                limits::ZIP_ENTRIES
            )));
        }
        match zip.has_overlapping_entries() {
            Ok(false) => {}
            Ok(true) => {
                return Err(ExtractError::Failed(format!(
                    "{what} has overlapping zip entries (refused: a possible zip bomb)"
                )))
            }
            Err(_) => {
                return Err(ExtractError::Failed(format!(
                    "not a valid {what} (corrupt zip directory)"
                )))
            }
        }
        Ok(Archive {
            zip,
            read_total: 0,
            what: what.to_string(),
        })
    }

    /// The bytes of a named entry, or `None` when it is absent.
    pub(crate) fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, ExtractError> {
        let Some(index) = self.zip.index_for_name(name) else {
            return Ok(None);
        };
        let what = self.what.clone();
        let corrupt = |detail: &str| ExtractError::Failed(format!("corrupt {what}: {detail}"));
        let mut entry = match self.zip.by_index(index) {
            Ok(entry) => entry,
            Err(ZipError::UnsupportedArchive(m)) if m.to_ascii_lowercase().contains("password") => {
                return Err(ExtractError::Failed(format!("{what} is encrypted")))
            }
            Err(ZipError::UnsupportedArchive(m)) => {
                return Err(ExtractError::Failed(format!(
                    "{what} uses an unsupported zip feature ({m})"
                )))
            }
            Err(e) => return Err(corrupt(&format!("{name}: {e}"))),
        };
        if entry.encrypted() {
            return Err(ExtractError::Failed(format!("{what} is encrypted")));
        }
        let declared = entry.size();
        let compressed = entry.compressed_size().max(1);
        let bomb = || {
            ExtractError::Failed(format!(
                "{what} expands too much ({name}; refused as a possible zip bomb)"
            ))
        };
        if declared > limits::ZIP_ENTRY_BYTES {
            return Err(bomb());
        }
        if declared > limits::ZIP_RATIO_MIN_BYTES && declared / compressed > limits::ZIP_RATIO {
            return Err(bomb());
        }
        let room =
            limits::ZIP_ENTRY_BYTES.min(limits::ZIP_TOTAL_BYTES.saturating_sub(self.read_total));
        let mut bytes = Vec::with_capacity(declared.min(room) as usize);
        (&mut entry)
            .take(room + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| corrupt(&format!("{name}: {e}")))?;
        let actual = bytes.len() as u64;
        self.read_total += actual;
        if actual > room
            || (actual > limits::ZIP_RATIO_MIN_BYTES && actual / compressed > limits::ZIP_RATIO)
        {
            return Err(bomb());
        }
        Ok(Some(bytes))
    }

    /// A named entry as text (XML parts are UTF-8 or carry a BOM).
    pub(crate) fn read_text(&mut self, name: &str) -> Result<Option<String>, ExtractError> {
        Ok(self.read(name)?.map(|b| super::xml::decode(&b)))
    }
}

/// Resolves a relative reference (`../images/a.png`, `/ppt/slides/slide1.xml`, `ch%201.xhtml#x`) against the
/// folder of the part that holds it (`base_dir` ends without a slash, "" for the root).
pub(crate) fn resolve(base_dir: &str, href: &str) -> String {
    let href = href.split('#').next().unwrap_or("");
    let href = percent_decode(href);
    let mut parts: Vec<&str> = if href.starts_with('/') {
        Vec::new()
    } else {
        base_dir.split('/').filter(|p| !p.is_empty()).collect()
    };
    for seg in href.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// The folder of a part name ("OEBPS/content.opf" → "OEBPS").
pub(crate) fn dir_of(name: &str) -> &str {
    name.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn write_zip(path: &Path, entries: &[(String, Vec<u8>)]) {
        let mut w = zip::ZipWriter::new(File::create(path).unwrap());
        for (name, data) in entries {
            w.start_file(name.as_str(), SimpleFileOptions::default())
                .unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap();
    }

    #[test]
    fn reads_named_parts_and_refuses_bombs() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.zip");
        write_zip(
            &p,
            &[
                ("word/document.xml".into(), b"<w/>".to_vec()),
                ("bomb.xml".into(), vec![b' '; 4 * 1024 * 1024]),
            ],
        );
        let mut zip = Archive::open(&p, "Word document").unwrap();
        assert_eq!(zip.read_text("word/document.xml").unwrap().unwrap(), "<w/>");
        assert_eq!(zip.read("absent.xml").unwrap(), None);
        let err = zip.read("bomb.xml").unwrap_err();
        assert!(
            matches!(err, ExtractError::Failed(ref r) if r.contains("zip bomb")),
            "{err:?}"
        );

        let many: Vec<(String, Vec<u8>)> = (0..=limits::ZIP_ENTRIES)
            .map(|i| (format!("{i}"), Vec::new()))
            .collect();
        write_zip(&p, &many);
        assert!(
            matches!(Archive::open(&p, "x"), Err(ExtractError::Failed(r)) if r.contains("too many"))
        );

        std::fs::write(&p, b"PK\x03\x04 not really a zip").unwrap();
        assert!(
            matches!(Archive::open(&p, "Word document"), Err(ExtractError::Failed(r)) if r.contains("not a valid Word document"))
        );
    }

    #[test]
    fn resolves_relative_references() {
        assert_eq!(resolve("ppt", "slides/slide1.xml"), "ppt/slides/slide1.xml");
        assert_eq!(resolve("ppt/slides", "../media/a.png"), "ppt/media/a.png");
        assert_eq!(
            resolve("xl", "/xl/worksheets/sheet1.xml"),
            "xl/worksheets/sheet1.xml"
        );
        assert_eq!(
            resolve("OEBPS", "Text/ch%201.xhtml#top"),
            "OEBPS/Text/ch 1.xhtml"
        );
        assert_eq!(resolve("", "a/../../b"), "b");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(dir_of("OEBPS/content.opf"), "OEBPS");
    }
}
