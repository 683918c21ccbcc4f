//! "The text of an office document": Office Open XML (DOCX, PPTX, XLSX) and OpenDocument (ODT, ODP, ODS), read
//! from their zip parts with the bounded `archive` reader and the bounded `xml` walker, cut into located parts.
//! - DOCX: the body's paragraphs (`w:t` runs, tabs, breaks), cut into `Page`s at recorded page breaks
//!   (`w:lastRenderedPageBreak`, `w:br w:type="page"`, `w:pageBreakBefore`); each footnote after the page that
//!   refers to it, endnotes after the last; deleted text and field codes are left out.
//! - PPTX: one `Slide` per slide in presentation order (`p:sldIdLst` through the relationships), its speaker
//!   notes (`notesSlide` relationship) after its text; slide-number fields left out.
//! - XLSX: one `Sheet` per sheet in workbook order, headed by its name, one line per row, cells separated by
//!   tabs (shared strings resolved; formulas left out); at most `limits::CELLS` cells in all.
//! - ODT/ODP/ODS: `content.xml`'s paragraphs and headings; tables as rows of tab-separated cells (repeat counts
//!   are never expanded); ODT `Page`s at `text:soft-page-break` and page-breaking automatic paragraph styles,
//!   ODP `Slide`s (with notes), ODS `Sheet`s headed by their names.

use std::collections::HashMap;

use super::archive::{self, Archive};
use super::xml::{self, Node};
use super::{limits, push_capped, Builder, ExtractError, Extracted, Location};
use crate::chunk::TextKind;

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

    pub(crate) fn what(self) -> &'static str {
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

pub(crate) fn extract(zip: &mut Archive<'_>, kind: Kind) -> Result<Extracted, ExtractError> {
    let mut doc = Builder::default();
    match kind {
        Kind::Docx => docx(zip, &mut doc)?,
        Kind::Pptx => pptx(zip, &mut doc)?,
        Kind::Xlsx => xlsx(zip, &mut doc)?,
        Kind::Odt | Kind::Odp | Kind::Ods => odf(zip, kind, &mut doc)?,
    }
    Ok(doc.finish(TextKind::Plain))
}

fn missing(kind: Kind, part: &str) -> ExtractError {
    ExtractError::Failed(format!("not a valid {} ({part} is missing)", kind.what()))
}

/// Positions met while reading WordprocessingML, as byte offsets in the text read so far.
#[derive(Default)]
struct Marks {
    /// Where a new page starts (rendered or explicit page breaks).
    pages: Vec<usize>,
    /// Footnote references: where, and the note's id.
    footnotes: Vec<(usize, String)>,
}

/// Paragraph text of WordprocessingML or DrawingML: text only inside `t` elements, paragraphs end lines; slide
/// number fields are left out. Page breaks and footnote references are noted in `marks`.
fn runs(xml: &str, what: &str, out: &mut String, marks: &mut Marks) -> Result<(), ExtractError> {
    let mut in_t = 0usize;
    let mut in_tab_stops = 0usize; // <w:tabs> holds tab stops, not tabs
    let mut in_slide_number = 0usize; // <a:fld type="slidenum"> shows the slide's number, not its text
    xml::walk(xml, what, |node| {
        match node {
            Node::Start(name, start) => match name {
                "t" => in_t += 1,
                "tabs" => in_tab_stops += 1,
                "tab" if in_t == 0 && in_tab_stops == 0 => out.push('\t'),
                "br" | "cr" => {
                    out.push('\n');
                    if xml::attr(start, "type").is_some_and(|t| t == "page") {
                        marks.pages.push(out.len());
                    }
                }
                "lastRenderedPageBreak" => marks.pages.push(out.len()),
                "pageBreakBefore" if on(start) => marks.pages.push(out.len()),
                "footnoteReference" => {
                    if let Some(id) = xml::attr(start, "id") {
                        marks.footnotes.push((out.len(), id));
                    }
                }
                "fld" if xml::attr(start, "type").is_some_and(|t| t == "slidenum") => {
                    in_slide_number += 1
                }
                _ => {}
            },
            Node::End(name) => match name {
                "t" => in_t = in_t.saturating_sub(1),
                "tabs" => in_tab_stops = in_tab_stops.saturating_sub(1),
                "fld" => in_slide_number = in_slide_number.saturating_sub(1),
                "p" => out.push('\n'),
                _ => {}
            },
            Node::Text(t) if in_t > 0 && in_slide_number == 0 => push_capped(out, t),
            Node::Text(_) => {}
        }
        out.len() < limits::TEXT_BYTES
    })
}

/// A WordprocessingML on/off property (`<w:pageBreakBefore/>`, `w:val="0"` turns it off).
fn on(start: &quick_xml::events::BytesStart<'_>) -> bool {
    xml::attr(start, "val").is_none_or(|v| !matches!(v.as_str(), "0" | "false" | "off"))
}

/// Cuts `text` at page starts into pages (start, end). A break with no text since the previous one starts no
/// new page: Word writes both an explicit break and, where the next page begins, a rendered one.
fn pages(text: &str, breaks: &[usize]) -> Vec<(usize, usize)> {
    let mut pages = Vec::new();
    let mut start = 0;
    for &at in breaks {
        let at = at.min(text.len());
        if at <= start || !text.is_char_boundary(at) || text[start..at].trim().is_empty() {
            continue;
        }
        pages.push((start, at));
        start = at;
    }
    pages.push((start, text.len()));
    pages
}

/// DOCX: the body cut into pages where the document records page breaks (page 1 at the start; a document
/// without any — never laid out by Word — has no page positions). Each footnote follows the page that refers
/// to it, as printed; endnotes follow the last page.
fn docx(zip: &mut Archive<'_>, doc: &mut Builder) -> Result<(), ExtractError> {
    let body = zip
        .read_text("word/document.xml")?
        .ok_or_else(|| missing(Kind::Docx, "word/document.xml"))?;
    let footnotes: HashMap<String, String> = notes(zip, "word/footnotes.xml", "footnote")?
        .into_iter()
        .collect();
    let mut out = String::new();
    let mut marks = Marks::default();
    runs(&body, "word/document.xml", &mut out, &mut marks)?;
    drop(body);
    let paged = !marks.pages.is_empty();
    let pages = pages(&out, &marks.pages);
    let last = pages.len();
    let mut refs = marks.footnotes.iter().peekable();
    for (n, (start, end)) in pages.into_iter().enumerate() {
        let mut page = out[start..end].to_string();
        while let Some((_, id)) = refs.next_if(|(at, _)| *at < end || n + 1 == last) {
            if let Some(note) = footnotes.get(id) {
                page.push_str("\n\n");
                page.push_str(note);
            }
        }
        if n + 1 == last {
            for (_, note) in notes(zip, "word/endnotes.xml", "endnote")? {
                page.push_str("\n\n");
                page.push_str(&note);
            }
        }
        let location = paged.then(|| Location::Page {
            number: n as u32 + 1,
        });
        doc.push(location, &page);
    }
    Ok(())
}

/// The notes of a footnotes/endnotes part as (id, text), in document order (separators have no text and are
/// dropped).
fn notes(
    zip: &mut Archive<'_>,
    part: &str,
    element: &str,
) -> Result<Vec<(String, String)>, ExtractError> {
    let mut notes = Vec::new();
    let Some(xml) = zip.read_text(part)? else {
        return Ok(notes);
    };
    // Each note's paragraphs, read with `runs` (no recursion: notes do not nest).
    let mut id: Option<String> = None;
    let mut start = 0;
    let mut all = String::new();
    let mut spans = Vec::new();
    let mut in_t = 0usize;
    xml::walk(&xml, part, |node| {
        match node {
            Node::Start(name, s) if name == element => {
                id = xml::attr(s, "id");
                start = all.len();
            }
            Node::End(name) if name == element => {
                if let Some(id) = id.take() {
                    spans.push((id, start, all.len()));
                }
            }
            Node::Start("t", _) => in_t += 1,
            Node::End("t") => in_t = in_t.saturating_sub(1),
            Node::Start("tab", _) if in_t == 0 => all.push('\t'),
            Node::Start("br" | "cr", _) => all.push('\n'),
            Node::End("p") => all.push('\n'),
            Node::Text(t) if in_t > 0 => push_capped(&mut all, t),
            _ => {}
        }
        all.len() < limits::TEXT_BYTES && spans.len() < limits::PARTS * 4
    })?;
    for (id, start, end) in spans {
        let text = all[start..end].trim();
        if !text.is_empty() {
            notes.push((id, text.to_string()));
        }
    }
    Ok(notes)
}

/// The relationships of a part: id → (resolved part name, relationship type).
fn relationships(
    zip: &mut Archive<'_>,
    part: &str,
) -> Result<HashMap<String, (String, String)>, ExtractError> {
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
                    let kind = xml::attr(start, "Type").unwrap_or_default();
                    map.insert(id, (archive::resolve(dir, &target), kind));
                }
            }
        }
        map.len() < limits::PARTS * 4
    })?;
    Ok(map)
}

/// PPTX: one part per slide in presentation order, its speaker notes after its text.
fn pptx(zip: &mut Archive<'_>, doc: &mut Builder) -> Result<(), ExtractError> {
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
    let mut number = 0u32;
    for id in ids {
        let Some((slide, _)) = rels.get(&id) else {
            continue;
        };
        let Some(xml) = zip.read_text(slide)? else {
            continue;
        };
        number += 1;
        let mut text = String::new();
        runs(&xml, slide, &mut text, &mut Marks::default())?;
        let notes = relationships(zip, slide)?
            .into_values()
            .find(|(_, kind)| kind.ends_with("/notesSlide"));
        if let Some((notes, _)) = notes {
            if let Some(xml) = zip.read_text(&notes)? {
                let mut said = String::new();
                runs(&xml, &notes, &mut said, &mut Marks::default())?;
                if !said.trim().is_empty() {
                    text.push_str("\n\nNotes:\n");
                    text.push_str(&said);
                }
            }
        }
        doc.push(Some(Location::Slide { number }), &text);
        if doc.full() {
            break;
        }
    }
    Ok(())
}

/// XLSX: one part per sheet in workbook order, headed by its name.
fn xlsx(zip: &mut Archive<'_>, doc: &mut Builder) -> Result<(), ExtractError> {
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
    let mut cells = 0usize;
    for (number, (name, id)) in sheets.into_iter().enumerate() {
        let Some((sheet_part, _)) = rels.get(&id) else {
            continue;
        };
        let Some(xml) = zip.read_text(sheet_part)? else {
            continue;
        };
        let mut out = String::new();
        out.push_str(&name);
        out.push('\n');
        sheet(&xml, sheet_part, &shared, &mut cells, &mut out)?;
        let location = Location::Sheet {
            number: number as u32 + 1,
            name,
        };
        doc.push(Some(location), &out);
        if cells >= limits::CELLS || doc.full() {
            break;
        }
    }
    Ok(())
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

/// ODT/ODP/ODS: `content.xml`'s body. ODT is cut into pages where LibreOffice recorded them
/// (`text:soft-page-break`) or a paragraph style of `content.xml` breaks the page; ODP into slides
/// (`draw:page`, speaker notes after the slide's text); ODS into sheets (`table:table`, headed by its name).
fn odf(zip: &mut Archive<'_>, kind: Kind, doc: &mut Builder) -> Result<(), ExtractError> {
    let part = "content.xml";
    let content = zip.read_text(part)?.ok_or_else(|| missing(kind, part))?;
    let mut out = String::new();
    let mut in_body = 0usize;
    let mut in_para = 0usize;
    let mut skip = 0usize; // tracked changes (deleted text)
    let mut cells = 0usize;
    // Automatic paragraph styles that break the page before / after a paragraph.
    let mut style: Option<String> = None;
    let mut break_before = std::collections::HashSet::new();
    let mut break_after = std::collections::HashSet::new();
    // For each open paragraph/heading: whether a page break follows it.
    let mut open_breaks_after: Vec<bool> = Vec::new();
    let mut tables = 0usize;
    let mut page_breaks: Vec<usize> = Vec::new();
    let mut located: Vec<(usize, Location)> = Vec::new();
    xml::walk(&content, part, |node| {
        match node {
            Node::Start(name, start) => match name {
                "body" => in_body += 1,
                "style" if in_body == 0 => style = xml::attr(start, "name"),
                "paragraph-properties" if in_body == 0 => {
                    if let Some(name) = &style {
                        if xml::attr(start, "break-before").is_some_and(|b| b == "page") {
                            break_before.insert(name.clone());
                        }
                        if xml::attr(start, "break-after").is_some_and(|b| b == "page") {
                            break_after.insert(name.clone());
                        }
                    }
                }
                "tracked-changes" => skip += 1,
                _ if skip > 0 || in_body == 0 => {}
                "p" | "h" => {
                    in_para += 1;
                    let style = xml::attr(start, "style-name");
                    if style.as_ref().is_some_and(|s| break_before.contains(s)) {
                        page_breaks.push(out.len());
                    }
                    open_breaks_after.push(style.is_some_and(|s| break_after.contains(&s)));
                }
                "soft-page-break" => page_breaks.push(out.len()),
                "s" => out.push(' '),
                "tab" => out.push('\t'),
                "line-break" => out.push('\n'),
                "table" if kind == Kind::Ods => {
                    tables += 1;
                    if tables == 1 {
                        let name = xml::attr(start, "name").unwrap_or_default();
                        out.push_str("\n\n");
                        let number = located.len() as u32 + 1;
                        located.push((
                            out.len(),
                            Location::Sheet {
                                number,
                                name: name.clone(),
                            },
                        ));
                        out.push_str(&name);
                        out.push('\n');
                    }
                }
                "page" if kind == Kind::Odp => {
                    out.push_str("\n\n");
                    let number = located.len() as u32 + 1;
                    located.push((out.len(), Location::Slide { number }));
                }
                "notes" if kind == Kind::Odp => out.push_str("\n\nNotes:\n"),
                _ => {}
            },
            Node::End(name) => match name {
                "body" => in_body = in_body.saturating_sub(1),
                "style" if in_body == 0 => style = None,
                "tracked-changes" => skip = skip.saturating_sub(1),
                _ if skip > 0 || in_body == 0 => {}
                "p" | "h" => {
                    in_para = in_para.saturating_sub(1);
                    out.push('\n');
                    if open_breaks_after.pop() == Some(true) {
                        page_breaks.push(out.len());
                    }
                }
                "table" if kind == Kind::Ods => tables = tables.saturating_sub(1),
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
    drop(content);
    if kind == Kind::Odt {
        // No recorded page breaks (a document never laid out by LibreOffice): no page positions.
        let paged = !page_breaks.is_empty();
        for (n, (start, end)) in pages(&out, &page_breaks).into_iter().enumerate() {
            let location = paged.then(|| Location::Page {
                number: n as u32 + 1,
            });
            doc.push(location, &out[start..end]);
        }
        return Ok(());
    }
    // Text before the first slide or sheet (none in a normal file) has no location.
    let mut start = 0;
    let mut location = None;
    for (at, next) in located {
        let at = at.clamp(start, out.len());
        if !out.is_char_boundary(at) {
            continue;
        }
        doc.push(location, &out[start..at]);
        start = at;
        location = Some(next);
    }
    doc.push(location, &out[start..]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_runs_keep_text_tabs_and_breaks_only() {
        let xml = r#"<w:document xmlns:w="w"><w:body><w:p><w:pPr><w:tabs><w:tab w:val="left"/></w:tabs></w:pPr><w:r><w:t>One</w:t><w:tab/><w:t xml:space="preserve">two </w:t><w:br/><w:t>three</w:t></w:r><w:del><w:r><w:delText>gone</w:delText></w:r></w:del><w:r><w:instrText>HYPERLINK</w:instrText></w:r></w:p><w:p><w:r><w:t>Next &amp; last</w:t></w:r></w:p></w:body></w:document>"#;
        let mut out = String::new();
        let mut marks = Marks::default();
        runs(xml, "document.xml", &mut out, &mut marks).unwrap();
        assert_eq!(super::super::tidy(&out), "One\ttwo\nthree\nNext & last");
        assert!(marks.pages.is_empty() && marks.footnotes.is_empty());
    }

    #[test]
    fn word_page_breaks_and_footnotes_become_pages() {
        // Page 1; an explicit break then Word's rendered break at the next page's start (one new page, not
        // two); a footnote referenced on page 2; a paragraph that starts page 3 by its own property.
        let xml = r#"<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>first page</w:t></w:r><w:r><w:br w:type="page"/></w:r></w:p><w:p><w:r><w:lastRenderedPageBreak/><w:t>second page</w:t><w:footnoteReference w:id="2"/></w:r></w:p><w:p><w:pPr><w:pageBreakBefore/></w:pPr><w:r><w:t>third page</w:t></w:r></w:p><w:p><w:pPr><w:pageBreakBefore w:val="0"/></w:pPr><w:r><w:t>still third</w:t></w:r></w:p></w:body></w:document>"#;
        let mut out = String::new();
        let mut marks = Marks::default();
        runs(xml, "document.xml", &mut out, &mut marks).unwrap();
        let got: Vec<&str> = pages(&out, &marks.pages)
            .into_iter()
            .map(|(s, e)| out[s..e].trim())
            .collect();
        assert_eq!(
            got,
            ["first page", "second page", "third page\nstill third"]
        );
        assert_eq!(marks.footnotes.len(), 1);
        assert!(out[..marks.footnotes[0].0].ends_with("second page"));
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

    fn odf_doc(kind: Kind, body: &str) -> Extracted {
        use std::io::Write;
        let content = format!(
            r#"<office:document-content xmlns:office="o" xmlns:text="t" xmlns:style="s" xmlns:fo="f" xmlns:draw="d" xmlns:presentation="p"><office:automatic-styles><style:style style:name="P1" style:family="paragraph"><style:paragraph-properties fo:break-before="page"/></style:style><style:style style:name="P2" style:family="paragraph"><style:paragraph-properties fo:break-after="page"/></style:style></office:automatic-styles><office:body>{body}</office:body></office:document-content>"#
        );
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file("content.xml", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(content.as_bytes()).unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let mut zip = Archive::from_bytes(&bytes, kind.what()).unwrap();
        extract(&mut zip, kind).unwrap()
    }

    fn located(doc: &Extracted) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        for (i, part) in doc.parts.iter().enumerate() {
            let end = doc.parts.get(i + 1).map_or(doc.text.len(), |p| p.start);
            out.push((part.location.to_string(), doc.text[part.start..end].trim()));
        }
        out
    }

    #[test]
    fn odt_pages_from_soft_and_style_breaks_and_odp_notes() {
        let doc = odf_doc(
            Kind::Odt,
            r#"<office:text><text:p>one</text:p><text:soft-page-break/><text:p text:style-name="P1">two</text:p><text:p text:style-name="P2">still two</text:p><text:p>three</text:p></office:text>"#,
        );
        assert_eq!(
            located(&doc),
            [
                ("page 1".to_string(), "one"),
                ("page 2".to_string(), "two\nstill two"),
                ("page 3".to_string(), "three")
            ],
            "a soft break and a style break with no text between are one new page"
        );
        let doc = odf_doc(
            Kind::Odt,
            "<office:text><text:p>never laid out</text:p></office:text>",
        );
        assert!(doc.parts.is_empty() && doc.text == "never laid out");
        let doc = odf_doc(
            Kind::Odp,
            r#"<office:presentation><draw:page><draw:frame><draw:text-box><text:p>Title</text:p></draw:text-box></draw:frame><presentation:notes><draw:frame><draw:text-box><text:p>say hello</text:p></draw:text-box></draw:frame></presentation:notes></draw:page><draw:page><draw:frame><draw:text-box><text:p>Second</text:p></draw:text-box></draw:frame></draw:page></office:presentation>"#,
        );
        assert_eq!(
            located(&doc),
            [
                ("slide 1".to_string(), "Title\n\nNotes:\nsay hello"),
                ("slide 2".to_string(), "Second")
            ]
        );
    }
}
