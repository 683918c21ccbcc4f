//! "The text of an office document": Office Open XML (DOCX, PPTX, XLSX) and OpenDocument (ODT, ODP, ODS), read
//! from their zip parts with the bounded `archive` reader and the bounded `xml` walker.
//! - DOCX: the body's paragraphs (`w:t` runs, tabs, breaks), then footnotes and endnotes; deleted text and
//!   field codes are left out.
//! - PPTX: each slide's text in presentation order (`p:sldIdLst` through the relationships), a blank line
//!   between slides.
//! - XLSX: each sheet in workbook order, headed by its name, one line per row, cells separated by tabs (shared
//!   strings resolved; formulas left out); at most `limits::CELLS` cells in all.
//! - ODT/ODP/ODS: `content.xml`'s paragraphs and headings; tables as rows of tab-separated cells (repeat counts
//!   are never expanded); ODS sheets and ODP slides headed as in OOXML.

use std::collections::HashMap;
use std::path::Path;

use super::archive::{self, Archive};
use super::xml::{self, Node};
use super::{limits, push_capped, tidy, ExtractError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Docx,
    Pptx,
    Xlsx,
    Odt,
    Odp,
    Ods,
}

impl Kind {
    pub(crate) fn from_extension(ext: &str) -> Option<Kind> {
        Some(match ext {
            "docx" | "docm" | "dotx" | "dotm" => Kind::Docx,
            "pptx" | "pptm" | "ppsx" | "potx" => Kind::Pptx,
            "xlsx" | "xlsm" | "xltx" => Kind::Xlsx,
            "odt" | "ott" => Kind::Odt,
            "odp" | "otp" => Kind::Odp,
            "ods" | "ots" => Kind::Ods,
            _ => return None,
        })
    }

    fn what(self) -> &'static str {
        match self {
            Kind::Docx => "Word document",
            Kind::Pptx => "PowerPoint presentation",
            Kind::Xlsx => "Excel workbook",
            Kind::Odt => "OpenDocument text",
            Kind::Odp => "OpenDocument presentation",
            Kind::Ods => "OpenDocument spreadsheet",
        }
    }
}

pub(crate) fn extract(path: &Path, kind: Kind) -> Result<String, ExtractError> {
    let mut zip = Archive::open(path, kind.what())?;
    let text = match kind {
        Kind::Docx => docx(&mut zip)?,
        Kind::Pptx => pptx(&mut zip)?,
        Kind::Xlsx => xlsx(&mut zip)?,
        Kind::Odt | Kind::Odp | Kind::Ods => odf(&mut zip, kind)?,
    };
    Ok(tidy(&text))
}

fn missing(kind: Kind, part: &str) -> ExtractError {
    ExtractError::Failed(format!("not a valid {} ({part} is missing)", kind.what()))
}

/// Paragraph text of WordprocessingML or DrawingML: text only inside `t` elements, paragraphs end lines.
fn runs(xml: &str, what: &str, out: &mut String) -> Result<(), ExtractError> {
    let mut in_t = 0usize;
    let mut in_tab_stops = 0usize; // <w:tabs> holds tab stops, not tabs
    xml::walk(xml, what, |node| {
        match node {
            Node::Start(name, _) => match name {
                "t" => in_t += 1,
                "tabs" => in_tab_stops += 1,
                "tab" if in_t == 0 && in_tab_stops == 0 => out.push('\t'),
                "br" | "cr" => out.push('\n'),
                _ => {}
            },
            Node::End(name) => match name {
                "t" => in_t = in_t.saturating_sub(1),
                "tabs" => in_tab_stops = in_tab_stops.saturating_sub(1),
                "p" => out.push('\n'),
                _ => {}
            },
            Node::Text(t) if in_t > 0 => push_capped(out, t),
            Node::Text(_) => {}
        }
        out.len() < limits::TEXT_BYTES
    })
}

fn docx(zip: &mut Archive) -> Result<String, ExtractError> {
    let body = zip
        .read_text("word/document.xml")?
        .ok_or_else(|| missing(Kind::Docx, "word/document.xml"))?;
    let mut out = String::new();
    runs(&body, "word/document.xml", &mut out)?;
    for part in ["word/footnotes.xml", "word/endnotes.xml"] {
        if let Some(xml) = zip.read_text(part)? {
            out.push_str("\n\n");
            runs(&xml, part, &mut out)?;
        }
    }
    Ok(out)
}

/// The relationships of a part: id → resolved part name.
fn relationships(zip: &mut Archive, part: &str) -> Result<HashMap<String, String>, ExtractError> {
    let dir = archive::dir_of(part);
    let file = part.rsplit('/').next().unwrap_or(part);
    let rels_name = if dir.is_empty() {
        format!("_rels/{file}.rels")
    } else {
        format!("{dir}/_rels/{file}.rels")
    };
    let mut map = HashMap::new();
    let Some(rels) = zip.read_text(&rels_name)? else {
        return Ok(map);
    };
    xml::walk(&rels, &rels_name, |node| {
        if let Node::Start("Relationship", start) = node {
            if let (Some(id), Some(target)) = (xml::attr(start, "Id"), xml::attr(start, "Target")) {
                let external = xml::attr(start, "TargetMode").is_some_and(|m| m == "External");
                if !external {
                    map.insert(id, archive::resolve(dir, &target));
                }
            }
        }
        map.len() < limits::PARTS * 4
    })?;
    Ok(map)
}

fn pptx(zip: &mut Archive) -> Result<String, ExtractError> {
    let part = "ppt/presentation.xml";
    let presentation = zip
        .read_text(part)?
        .ok_or_else(|| missing(Kind::Pptx, part))?;
    let rels = relationships(zip, part)?;
    let mut ids = Vec::new();
    xml::walk(&presentation, part, |node| {
        if let Node::Start("sldId", start) = node {
            if let Some(id) = xml::attr_exact(start, "r:id").or_else(|| xml::attr(start, "id")) {
                ids.push(id);
            }
        }
        ids.len() < limits::PARTS
    })?;
    let mut out = String::new();
    for id in ids {
        let Some(slide) = rels.get(&id) else { continue };
        let Some(xml) = zip.read_text(slide)? else {
            continue;
        };
        runs(&xml, slide, &mut out)?;
        out.push_str("\n\n");
        if out.len() >= limits::TEXT_BYTES {
            break;
        }
    }
    Ok(out)
}

fn xlsx(zip: &mut Archive) -> Result<String, ExtractError> {
    let part = "xl/workbook.xml";
    let workbook = zip
        .read_text(part)?
        .ok_or_else(|| missing(Kind::Xlsx, part))?;
    let rels = relationships(zip, part)?;
    let mut sheets = Vec::new();
    xml::walk(&workbook, part, |node| {
        if let Node::Start("sheet", start) = node {
            let name = xml::attr(start, "name").unwrap_or_default();
            if let Some(id) = xml::attr_exact(start, "r:id").or_else(|| xml::attr(start, "id")) {
                sheets.push((name, id));
            }
        }
        sheets.len() < limits::PARTS
    })?;
    let shared = match zip.read_text("xl/sharedStrings.xml")? {
        Some(xml) => shared_strings(&xml)?,
        None => Vec::new(),
    };
    let mut out = String::new();
    let mut cells = 0usize;
    for (name, id) in sheets {
        let Some(sheet_part) = rels.get(&id) else {
            continue;
        };
        let Some(xml) = zip.read_text(sheet_part)? else {
            continue;
        };
        out.push_str(&name);
        out.push('\n');
        sheet(&xml, sheet_part, &shared, &mut cells, &mut out)?;
        out.push_str("\n\n");
        if cells >= limits::CELLS || out.len() >= limits::TEXT_BYTES {
            break;
        }
    }
    Ok(out)
}

/// The shared-string table: each `si`'s `t` text, phonetic runs left out.
fn shared_strings(xml: &str) -> Result<Vec<String>, ExtractError> {
    let mut strings = Vec::new();
    let mut current = String::new();
    let mut in_t = 0usize;
    let mut in_phonetic = 0usize;
    let mut bytes = 0usize;
    xml::walk(xml, "xl/sharedStrings.xml", |node| {
        match node {
            Node::Start("si", _) => current.clear(),
            Node::Start("t", _) => in_t += 1,
            Node::Start("rPh", _) => in_phonetic += 1,
            Node::End("t") => in_t = in_t.saturating_sub(1),
            Node::End("rPh") => in_phonetic = in_phonetic.saturating_sub(1),
            Node::End("si") => strings.push(std::mem::take(&mut current)),
            Node::Text(t) if in_t > 0 && in_phonetic == 0 => {
                bytes += t.len();
                current.push_str(t);
            }
            _ => {}
        }
        bytes < limits::TEXT_BYTES
    })?;
    Ok(strings)
}

fn sheet(
    xml: &str,
    what: &str,
    shared: &[String],
    cells: &mut usize,
    out: &mut String,
) -> Result<(), ExtractError> {
    let mut cell_type = String::new();
    let mut value = String::new();
    let mut in_value = false; // inside <v> or inline <is><t>
    let mut row_has_cell = false;
    xml::walk(xml, what, |node| {
        match node {
            Node::Start("c", start) => {
                cell_type = xml::attr(start, "t").unwrap_or_default();
                value.clear();
            }
            Node::Start("v" | "t", _) => in_value = true,
            Node::End("v" | "t") => in_value = false,
            Node::Text(t) if in_value => value.push_str(t),
            Node::End("c") => {
                let text = match cell_type.as_str() {
                    "s" => value
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| shared.get(i))
                        .map(String::as_str)
                        .unwrap_or(""),
                    _ => value.as_str(),
                };
                if !text.is_empty() {
                    if row_has_cell {
                        out.push('\t');
                    }
                    push_capped(out, text);
                    row_has_cell = true;
                }
                *cells += 1;
            }
            Node::End("row") => {
                if row_has_cell {
                    out.push('\n');
                }
                row_has_cell = false;
            }
            _ => {}
        }
        *cells < limits::CELLS && out.len() < limits::TEXT_BYTES
    })
}

fn odf(zip: &mut Archive, kind: Kind) -> Result<String, ExtractError> {
    let part = "content.xml";
    let content = zip.read_text(part)?.ok_or_else(|| missing(kind, part))?;
    let mut out = String::new();
    let mut in_body = 0usize;
    let mut in_para = 0usize;
    let mut skip = 0usize; // tracked changes (deleted text), notes of slides
    let mut cells = 0usize;
    xml::walk(&content, part, |node| {
        match node {
            Node::Start(name, start) => match name {
                "body" => in_body += 1,
                "tracked-changes" | "notes" => skip += 1,
                _ if skip > 0 || in_body == 0 => {}
                "p" | "h" => in_para += 1,
                "s" => out.push(' '),
                "tab" => out.push('\t'),
                "line-break" => out.push('\n'),
                "table" if kind == Kind::Ods => {
                    if let Some(name) = xml::attr(start, "name") {
                        out.push_str("\n\n");
                        out.push_str(&name);
                        out.push('\n');
                    }
                }
                "page" => out.push_str("\n\n"),
                _ => {}
            },
            Node::End(name) => match name {
                "body" => in_body = in_body.saturating_sub(1),
                "tracked-changes" | "notes" => skip = skip.saturating_sub(1),
                _ if skip > 0 || in_body == 0 => {}
                "p" | "h" => {
                    in_para = in_para.saturating_sub(1);
                    out.push('\n');
                }
                "table-cell" => {
                    cells += 1;
                    if out.ends_with('\n') {
                        out.pop();
                    }
                    out.push('\t');
                }
                "table-row" => {
                    while out.ends_with('\t') {
                        out.pop();
                    }
                    out.push('\n');
                }
                _ => {}
            },
            Node::Text(t) if in_para > 0 && skip == 0 && in_body > 0 => push_capped(&mut out, t),
            Node::Text(_) => {}
        }
        cells < limits::CELLS && out.len() < limits::TEXT_BYTES
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_runs_keep_text_tabs_and_breaks_only() {
        let xml = r#"<w:document xmlns:w="w"><w:body><w:p><w:pPr><w:tabs><w:tab w:val="left"/></w:tabs></w:pPr><w:r><w:t>One</w:t><w:tab/><w:t xml:space="preserve">two </w:t><w:br/><w:t>three</w:t></w:r><w:del><w:r><w:delText>gone</w:delText></w:r></w:del><w:r><w:instrText>HYPERLINK</w:instrText></w:r></w:p><w:p><w:r><w:t>Next &amp; last</w:t></w:r></w:p></w:body></w:document>"#;
        let mut out = String::new();
        runs(xml, "document.xml", &mut out).unwrap();
        assert_eq!(tidy(&out), "One\ttwo\nthree\nNext & last");
    }

    #[test]
    fn spreadsheet_cells_and_odf_tables() {
        let shared = shared_strings(r#"<sst><si><t>a</t></si><si><r><t>b</t></r><r><t>c</t></r><rPh><t>phonetic</t></rPh></si></sst>"#).unwrap();
        assert_eq!(shared, ["a", "bc"]);
        let mut out = String::new();
        let mut cells = 0;
        sheet(r#"<worksheet><sheetData><row><c t="s"><v>1</v></c><c t="s"><v>99</v></c><c><f>1+1</f><v>2</v></c></row></sheetData></worksheet>"#, "s", &shared, &mut cells, &mut out).unwrap();
        assert_eq!(out, "bc\t2\n");
        assert_eq!(cells, 3);
    }
}
