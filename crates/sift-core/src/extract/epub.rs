//! "The text of an e-book": an EPUB's chapters in spine (reading) order, each starting with its title (from the
//! table of contents — EPUB 3 `nav` or EPUB 2 `toc.ncx` — or else the chapter's own `<title>`), through the
//! bounded `archive` reader and the `html` visible-text reader.

use std::collections::HashMap;

use super::archive::{self, Archive};
use super::xml::{self, Node};
use super::{html, limits, Builder, ExtractError, Extracted, Location};
use crate::chunk::TextKind;

pub(crate) const WHAT: &str = "EPUB book";

/// The book's text, one part per spine item (`Chapter`, numbered in reading order, with its title).
pub(crate) fn extract(zip: &mut Archive<'_>) -> Result<Extracted, ExtractError> {
    let container = zip
        .read_text("META-INF/container.xml")?
        .ok_or_else(|| missing("META-INF/container.xml"))?;
    let mut opf_path = None;
    xml::walk(&container, "META-INF/container.xml", |node| {
        if let Node::Start("rootfile", start) = node {
            opf_path = xml::attr(start, "full-path");
        }
        opf_path.is_none()
    })?;
    let opf_path = opf_path.ok_or_else(|| missing("the package file"))?;
    let opf = zip
        .read_text(&opf_path)?
        .ok_or_else(|| missing(&opf_path))?;
    let dir = archive::dir_of(&opf_path).to_string();

    // Manifest (id → href, media type), spine order, and where the table of contents is.
    let mut manifest: HashMap<String, (String, String, bool)> = HashMap::new();
    let mut spine = Vec::new();
    let mut ncx_id = None;
    xml::walk(&opf, &opf_path, |node| {
        match node {
            Node::Start("item", start) => {
                if let (Some(id), Some(href)) = (xml::attr(start, "id"), xml::attr(start, "href")) {
                    let media = xml::attr(start, "media-type").unwrap_or_default();
                    let nav = xml::attr(start, "properties")
                        .is_some_and(|p| p.split_whitespace().any(|p| p == "nav"));
                    manifest.insert(id, (archive::resolve(&dir, &href), media, nav));
                }
            }
            Node::Start("spine", start) => ncx_id = xml::attr(start, "toc"),
            Node::Start("itemref", start) => {
                if let Some(idref) = xml::attr(start, "idref") {
                    spine.push(idref);
                }
            }
            _ => {}
        }
        manifest.len() < limits::PARTS * 4 && spine.len() < limits::PARTS
    })?;

    let titles = toc_titles(zip, &manifest, ncx_id.as_deref())?;
    let mut doc = Builder::default();
    let mut number = 0u32;
    for idref in spine {
        let Some((part, media, _)) = manifest.get(&idref) else {
            continue;
        };
        if !(media.contains("html") || media.is_empty()) {
            continue;
        }
        let Some(bytes) = zip.read(part)? else {
            continue;
        };
        number += 1;
        let page = html::visible_text(&html::decode(&bytes)?)?;
        drop(bytes);
        let title = titles.get(part).cloned().unwrap_or(page.title);
        let mut text = String::new();
        if !title.is_empty() && !page.body.starts_with(&title) {
            text.push_str(&title);
            text.push_str("\n\n");
        }
        text.push_str(&page.body);
        doc.push(Some(Location::Chapter { number, title }), &text);
        if doc.full() {
            break;
        }
    }
    Ok(doc.finish(TextKind::Plain))
}

fn missing(part: &str) -> ExtractError {
    ExtractError::Failed(format!("not a valid {WHAT} ({part} is missing)"))
}

/// Chapter titles by part name, from the EPUB 3 navigation document or the EPUB 2 NCX (first entry wins).
fn toc_titles(
    zip: &mut Archive<'_>,
    manifest: &HashMap<String, (String, String, bool)>,
    ncx_id: Option<&str>,
) -> Result<HashMap<String, String>, ExtractError> {
    let mut titles = HashMap::new();
    if let Some((nav, _, _)) = manifest.values().find(|(_, _, nav)| *nav) {
        if let Some(xml) = zip.read_text(nav)? {
            let dir = archive::dir_of(nav).to_string();
            let mut href: Option<String> = None;
            let mut label = String::new();
            // Not every nav parses as XML; a table of contents is optional, so a bad one is ignored.
            let _ = xml::walk(&xml, nav, |node| {
                match node {
                    Node::Start("a", start) => {
                        href = xml::attr(start, "href");
                        label.clear();
                    }
                    Node::Text(t) if href.is_some() => label.push_str(t),
                    Node::End("a") => {
                        if let Some(h) = href.take() {
                            let label = label.split_whitespace().collect::<Vec<_>>().join(" ");
                            titles.entry(archive::resolve(&dir, &h)).or_insert(label);
                        }
                    }
                    _ => {}
                }
                titles.len() < limits::PARTS
            });
        }
    }
    if let Some((ncx, _, _)) = ncx_id.and_then(|id| manifest.get(id)) {
        if let Some(xml) = zip.read_text(ncx)? {
            let dir = archive::dir_of(ncx).to_string();
            let mut in_text = false;
            let mut label = String::new();
            let _ = xml::walk(&xml, ncx, |node| {
                match node {
                    Node::Start("navLabel", _) => label.clear(),
                    Node::Start("text", _) => in_text = true,
                    Node::End("text") => in_text = false,
                    Node::Text(t) if in_text => label.push_str(t),
                    Node::Start("content", start) => {
                        if let Some(src) = xml::attr(start, "src") {
                            let label = label.split_whitespace().collect::<Vec<_>>().join(" ");
                            titles.entry(archive::resolve(&dir, &src)).or_insert(label);
                        }
                    }
                    _ => {}
                }
                titles.len() < limits::PARTS
            });
        }
    }
    titles.retain(|_, t| !t.is_empty());
    Ok(titles)
}
