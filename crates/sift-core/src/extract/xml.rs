//! "Walk an XML part as a flat stream of events, safely": quick-xml's pull parser (no recursion, no DTD
//! processing) with a nesting cap. Documents that declare entities are refused outright (office and EPUB parts
//! never need them; a declaration is how entity-expansion bombs start), and references are resolved only for
//! the predefined XML entities, character references and — for XHTML written without a DTD — the HTML5 names.
//! Nothing here ever expands a document-defined entity.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::{limits, ExtractError};

/// One event of the walk. `Start` is followed by a matching `End` (empty elements are expanded).
pub(crate) enum Node<'e, 'i> {
    Start(&'e str, &'e BytesStart<'i>),
    End(&'e str),
    Text(&'e str),
}

/// Decodes an XML part's bytes (UTF-8, or UTF-16 with a BOM) to text.
pub(crate) fn decode(bytes: &[u8]) -> String {
    let (text, _, _) = encoding_rs::UTF_8.decode(bytes);
    text.into_owned()
}

/// Calls `f` for each element start, end and piece of text, in document order. The callback returns `false`
/// to stop early. Fails on malformed XML, entity declarations and nesting deeper than `limits::NESTING`.
pub(crate) fn walk(
    xml: &str,
    what: &str,
    mut f: impl FnMut(Node<'_, '_>) -> bool,
) -> Result<(), ExtractError> {
    let mut reader = Reader::from_str(xml);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    config.trim_text(false);
    let mut depth = 0usize;
    let corrupt = |e: &dyn std::fmt::Display| ExtractError::Failed(format!("corrupt {what}: {e}"));
    loop {
        let event = reader.read_event().map_err(|e| corrupt(&e))?;
        let go_on = match &event {
            Event::Start(start) => {
                depth += 1;
                if depth > limits::NESTING {
                    return Err(ExtractError::Failed(format!(
                        "{what} is nested more than {} levels deep",
                        limits::NESTING
                    )));
                }
                let name = start.local_name();
                f(Node::Start(name.as_ref(), start))
            }
            Event::End(end) => {
                depth = depth.saturating_sub(1);
                let name = end.local_name();
                f(Node::End(name.as_ref()))
            }
            Event::Text(t) => f(Node::Text(&t.xml10_content())),
            Event::CData(t) => f(Node::Text(t)),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c.to_string()),
                    Ok(None) => {
                        let name: &str = r;
                        quick_xml::escape::resolve_predefined_entity(name)
                            .or_else(|| quick_xml::escape::resolve_html5_entity(name))
                            .map(str::to_string)
                    }
                    Err(_) => None,
                };
                // An unknown (document-defined) entity is dropped, never expanded.
                match resolved {
                    Some(text) => f(Node::Text(&text)),
                    None => true,
                }
            }
            Event::DocType(d) => {
                let doctype: &str = d;
                if doctype.to_ascii_uppercase().contains("<!ENTITY") {
                    return Err(ExtractError::Failed(format!(
                        "{what} declares XML entities (refused: a possible entity-expansion bomb)"
                    )));
                }
                true
            }
            Event::Eof => return Ok(()),
            _ => true,
        };
        if !go_on {
            return Ok(());
        }
    }
}

/// The value of an attribute by its local name (any prefix), unescaped.
pub(crate) fn attr(start: &BytesStart<'_>, local: &str) -> Option<String> {
    start
        .attributes()
        .with_checks(false)
        .flatten()
        .find_map(|a| {
            let key: &str = a.key.as_ref();
            let key_local = key.rsplit(':').next().unwrap_or(key);
            (key_local == local).then(|| {
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map(|v| v.into_owned())
                    .unwrap_or_else(|_| a.value.clone().into_owned())
            })
        })
}

/// The value of an attribute by its qualified name (e.g. `r:id`), unescaped.
pub(crate) fn attr_exact(start: &BytesStart<'_>, name: &str) -> Option<String> {
    start
        .attributes()
        .with_checks(false)
        .flatten()
        .find_map(|a| {
            let key: &str = a.key.as_ref();
            (key == name).then(|| {
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map(|v| v.into_owned())
                    .unwrap_or_else(|_| a.value.clone().into_owned())
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(xml: &str) -> Result<String, ExtractError> {
        let mut out = String::new();
        walk(xml, "test.xml", |n| {
            if let Node::Text(t) = n {
                out.push_str(t);
            }
            true
        })?;
        Ok(out)
    }

    #[test]
    fn resolves_only_predefined_and_character_references() {
        assert_eq!(
            texts("<a>x &amp; y &#233; &lt;b&gt; &nbsp;z</a>").unwrap(),
            "x & y é <b> \u{a0}z"
        );
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><lolz>&lol2;</lolz>"#;
        let err = texts(laughs).unwrap_err();
        assert!(
            matches!(err, ExtractError::Failed(ref r) if r.contains("entities")),
            "{err:?}"
        );
        // An undeclared entity is dropped, not expanded.
        assert_eq!(texts("<a>x&custom;y</a>").unwrap(), "xy");
    }

    #[test]
    fn deep_nesting_and_garbage_fail() {
        let deep = "<a>".repeat(5000) + &"</a>".repeat(5000);
        assert!(matches!(texts(&deep), Err(ExtractError::Failed(r)) if r.contains("nested")));
        assert!(matches!(texts("<a><b></a>"), Err(ExtractError::Failed(_))));
    }
}
