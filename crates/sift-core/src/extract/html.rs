//! "What a reader of this web page sees": the visible text of HTML/XHTML, with its title first. A small
//! streaming tokenizer (no tree, no recursion) keeps a stack of open elements only to know when a hidden one
//! ends: `<script>`, `<style>`, `<template>`, `<noscript>`, the `<head>` (except `<title>`), elements with the
//! `hidden` attribute or an inline `display:none` / `visibility:hidden` contribute nothing. Block elements end
//! lines; whitespace collapses as a browser collapses it (kept in `<pre>`). Entities are resolved with the HTML5
//! table; the charset comes from the BOM, then `<meta charset>` (or an XML declaration), then UTF-8, then
//! `chardetng`. Nesting deeper than `limits::NESTING` open elements fails the file.

use encoding_rs::Encoding;

use super::{limits, ExtractError};

/// Text of an HTML file: title line, blank line, visible text.
pub(crate) fn extract(bytes: &[u8]) -> Result<String, ExtractError> {
    let html = decode(bytes)?;
    let page = visible_text(&html)?;
    Ok(page.into_text())
}

/// A page's title and visible text.
pub(crate) struct Page {
    pub title: String,
    pub body: String,
}

impl Page {
    pub(crate) fn into_text(self) -> String {
        if self.title.is_empty() {
            self.body
        } else if self.body.is_empty() {
            self.title
        } else {
            format!("{}\n\n{}", self.title, self.body)
        }
    }
}

/// Decodes an HTML file's bytes: BOM, `<meta charset>` / XML declaration, valid UTF-8, then `chardetng`.
pub(crate) fn decode(bytes: &[u8]) -> Result<String, ExtractError> {
    if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        return Ok(enc
            .decode_without_bom_handling(&bytes[bom..])
            .0
            .into_owned());
    }
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err(ExtractError::Skipped("binary content".into()));
    }
    if let Some(enc) = declared_charset(&bytes[..bytes.len().min(4096)]) {
        return Ok(enc.decode_without_bom_handling(bytes).0.into_owned());
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    Ok(super::guess_legacy(bytes)
        .decode_without_bom_handling(bytes)
        .0
        .into_owned())
}

/// The charset named by `<meta charset=…>`, `<meta http-equiv content="…; charset=…">` or `<?xml encoding=…?>`
/// near the start of the file. UTF-16 labels are ignored (the bytes are not UTF-16 or a BOM would have said so).
fn declared_charset(head: &[u8]) -> Option<&'static Encoding> {
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    };
    let label_at = |at: usize| -> Option<&'static Encoding> {
        let rest = lower.get(at..)?;
        let rest = rest.strip_prefix(b"=").unwrap_or(rest);
        let rest: &[u8] = {
            let mut r = rest;
            while let [b' ' | b'"' | b'\'' | b'=', tail @ ..] = r {
                r = tail;
            }
            r
        };
        let end = rest
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b':' | b'.')))
            .unwrap_or(rest.len());
        let enc = Encoding::for_label(&rest[..end])?;
        (enc != encoding_rs::UTF_16LE && enc != encoding_rs::UTF_16BE).then_some(enc)
    };
    let mut from = 0;
    while let Some(meta) = find(&lower, b"<meta", from) {
        let end = find(&lower, b">", meta).unwrap_or(lower.len());
        if let Some(cs) = find(&lower[..end], b"charset", meta) {
            if let Some(enc) = label_at(cs + 7) {
                return Some(enc);
            }
        }
        from = end;
    }
    if lower.starts_with(b"<?xml") {
        let end = find(&lower, b"?>", 0).unwrap_or(lower.len());
        if let Some(at) = find(&lower[..end], b"encoding", 0) {
            return label_at(at + 8);
        }
    }
    None
}

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "frame", "basefont", "isindex",
];
/// Elements whose content is raw text that is never shown.
const RAW_HIDDEN: &[&str] = &[
    "script", "style", "noscript", "xmp", "iframe", "noembed", "noframes",
];
/// Elements whose end starts a new line.
const BLOCK: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "caption",
    "center",
    "dd",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "li",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "tr",
    "ul",
    "br",
    "title",
    "option",
    "legend",
];
/// Elements that an open element of the same name implicitly closes (`<p>a<p>b`, `<li>a<li>b`).
const SELF_CLOSING_SIBLINGS: &[&str] = &["p", "li", "dt", "dd", "option", "tr", "td", "th"];
/// Elements allowed in `<head>`; any other start tag implicitly closes it.
const HEAD_CONTENT: &[&str] = &[
    "title", "meta", "link", "style", "script", "base", "noscript", "template",
];

struct Open {
    name: String,
    hidden: bool,
}

/// The visible text and title of an HTML document.
pub(crate) fn visible_text(html: &str) -> Result<Page, ExtractError> {
    let b = html.as_bytes();
    let mut stack: Vec<Open> = Vec::new();
    let mut hidden = 0usize; // open elements that hide their content
    let mut pre = 0usize;
    let mut title = String::new();
    let mut out = String::new();
    let mut i = 0;
    let mut text_start = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        // Flush the text before this '<'.
        if hidden == 0 && text_start < i {
            push_text(&mut out, &html[text_start..i], pre > 0);
        }
        let rest = &b[i..];
        if rest.starts_with(b"<!--") {
            i = find(b, i + 4, b"-->").map_or(b.len(), |p| p + 3);
        } else if rest.starts_with(b"<![CDATA[") {
            let end = find(b, i + 9, b"]]>").unwrap_or(b.len());
            if hidden == 0 {
                push_text(&mut out, &html[i + 9..end], pre > 0);
            }
            i = (end + 3).min(b.len());
        } else if rest.starts_with(b"<!") || rest.starts_with(b"<?") {
            i = find(b, i + 2, b">").map_or(b.len(), |p| p + 1);
        } else if rest.len() > 2 && rest[1] == b'/' && rest[2].is_ascii_alphabetic() {
            let (name, after) = tag_name(b, i + 2);
            i = find(b, after, b">").map_or(b.len(), |p| p + 1);
            if let Some(pos) = stack.iter().rposition(|o| o.name == name) {
                for o in stack.drain(pos..) {
                    if o.hidden {
                        hidden -= 1;
                    }
                    if o.name == "pre" {
                        pre = pre.saturating_sub(1);
                    }
                }
            }
            if hidden == 0 && BLOCK.contains(&name.as_str()) {
                out.push('\n');
            } else if hidden == 0 && matches!(name.as_str(), "td" | "th") {
                out.push('\t');
            }
        } else if rest.len() > 1 && rest[1].is_ascii_alphabetic() {
            let (name, after) = tag_name(b, i + 1);
            let (attrs, end, self_closed) = attributes(html, after);
            i = end;
            // Implied ends: a new <p>/<li>/… closes an open sibling; body content closes <head>.
            if SELF_CLOSING_SIBLINGS.contains(&name.as_str())
                && stack.last().is_some_and(|o| o.name == name)
            {
                if let Some(o) = stack.pop() {
                    if o.hidden {
                        hidden -= 1;
                    }
                }
                if hidden == 0 {
                    out.push('\n');
                }
            }
            if !HEAD_CONTENT.contains(&name.as_str()) {
                if let Some(pos) = stack.iter().rposition(|o| o.name == "head") {
                    for o in stack.drain(pos..) {
                        if o.hidden {
                            hidden -= 1;
                        }
                    }
                }
            }
            if hidden == 0 && name != "br" && BLOCK.contains(&name.as_str()) && !out.ends_with('\n')
            {
                out.push('\n');
            }
            if name == "br" || name == "hr" {
                if hidden == 0 {
                    out.push('\n');
                }
                text_start = i;
                continue;
            }
            if matches!(name.as_str(), "td" | "th") && hidden == 0 {
                out.push('\t');
            }
            if RAW_HIDDEN.contains(&name.as_str()) || name == "title" {
                // Raw text up to the matching end tag (never parsed as markup).
                let close = format!("</{name}");
                let end = find_ci(b, i, close.as_bytes()).unwrap_or(b.len());
                if name == "title" && title.is_empty() && hidden_except_head(&stack) == 0 {
                    title = collapse(&unescape(&html[i..end]));
                }
                i = find(b, end, b">").map_or(b.len(), |p| p + 1);
                text_start = i;
                continue;
            }
            if self_closed || VOID.contains(&name.as_str()) {
                text_start = i;
                continue;
            }
            let hides = name == "head" || name == "template" || attrs.hidden || attrs.style_hidden;
            if stack.len() >= limits::NESTING {
                return Err(ExtractError::Failed(format!(
                    "the page is nested more than {} elements deep",
                    limits::NESTING
                )));
            }
            if hides {
                hidden += 1;
            }
            if name == "pre" {
                pre += 1;
            }
            stack.push(Open {
                name,
                hidden: hides,
            });
        } else {
            // A lone '<' is text.
            i += 1;
            continue;
        }
        text_start = i;
    }
    if hidden == 0 && text_start < b.len() {
        push_text(&mut out, &html[text_start..], pre > 0);
    }
    Ok(Page {
        title,
        body: super::tidy(&out),
    })
}

/// Hidden elements other than `<head>` (a title in the head is shown, one in a hidden div is not).
fn hidden_except_head(stack: &[Open]) -> usize {
    stack
        .iter()
        .filter(|o| o.hidden && o.name != "head")
        .count()
}

fn push_text(out: &mut String, raw: &str, keep_spaces: bool) {
    let text = unescape(raw);
    if keep_spaces {
        super::push_capped(out, &text);
        return;
    }
    let mut collapsed = String::with_capacity(text.len());
    let mut space = out.ends_with(|c: char| c.is_whitespace()) || out.is_empty();
    for c in text.chars() {
        if c.is_whitespace() && c != '\u{a0}' {
            if !space {
                collapsed.push(' ');
                space = true;
            }
        } else {
            collapsed.push(c);
            space = false;
        }
    }
    super::push_capped(out, &collapsed);
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Resolves `&name;`, `&#123;` and `&#x7B;`; anything else stays as written.
pub(crate) fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after
            .char_indices()
            .take(40)
            .find(|&(_, c)| c == ';' || !(c.is_ascii_alphanumeric() || c == '#'))
            .filter(|&(_, c)| c == ';')
            .map(|(p, _)| p);
        let resolved = end.and_then(|end| {
            let name = &after[..end];
            let value = if let Some(num) = name.strip_prefix('#') {
                let code = match num.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => num.parse::<u32>().ok(),
                };
                code.and_then(char::from_u32)
                    .filter(|&c| c != '\0')
                    .map(|c| c.to_string())
            } else {
                quick_xml::escape::resolve_html5_entity(name).map(str::to_string)
            };
            value.map(|v| (v, end))
        });
        match resolved {
            Some((v, end)) => {
                out.push_str(&v);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn find_ci(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| p + from)
}

/// A tag name (lower-cased, without any namespace prefix) starting at `at`, and the index after it.
fn tag_name(b: &[u8], at: usize) -> (String, usize) {
    let mut end = at;
    while end < b.len() && !(b[end].is_ascii_whitespace() || b[end] == b'>' || b[end] == b'/') {
        end += 1;
    }
    let raw = String::from_utf8_lossy(&b[at..end]).to_ascii_lowercase();
    let name = raw.rsplit(':').next().unwrap_or(&raw).to_string();
    (name, end)
}

#[derive(Default)]
struct Attrs {
    hidden: bool,
    style_hidden: bool,
}

/// Reads attributes from `at` to the end of the tag; returns what matters, the index after `>`, and whether
/// the tag ended with `/>`.
fn attributes(html: &str, at: usize) -> (Attrs, usize, bool) {
    let b = html.as_bytes();
    let mut attrs = Attrs::default();
    let mut i = at;
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() {
            return (attrs, b.len(), false);
        }
        if b[i] == b'>' {
            let self_closed = i > at && b[i - 1] == b'/';
            return (attrs, i + 1, self_closed);
        }
        let name_start = i;
        while i < b.len() && !(b[i].is_ascii_whitespace() || matches!(b[i], b'=' | b'>' | b'/')) {
            i += 1;
        }
        let name = html[name_start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = "";
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let end = b[i + 1..]
                    .iter()
                    .position(|&c| c == q)
                    .map_or(b.len(), |p| p + i + 1);
                value = &html[i + 1..end];
                i = (end + 1).min(b.len());
            } else {
                let start = i;
                while i < b.len() && !(b[i].is_ascii_whitespace() || b[i] == b'>') {
                    i += 1;
                }
                value = &html[start..i];
            }
        }
        match name.as_str() {
            "hidden" => attrs.hidden = true,
            "style" => {
                let style: String = value
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>()
                    .to_ascii_lowercase();
                attrs.style_hidden =
                    style.contains("display:none") || style.contains("visibility:hidden");
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(html: &str) -> String {
        visible_text(html).unwrap().into_text()
    }

    #[test]
    fn keeps_title_and_visible_text_only() {
        let html = r#"<!DOCTYPE html><html><head><title>Tide &amp; moon</title>
            <meta charset="utf-8"><style>body { color: red }</style><script>var secret = "a<b";</script></head>
            <body><h1>Heading</h1><p>First <b>bold</b>&nbsp;para&#233;.<p>Second</p>
            <div hidden>hidden words</div><span style="display: none">css hidden</span>
            <!-- a comment --><template><p>template text</p></template>
            <ul><li>one<li>two</ul><pre>a   b
c</pre></body></html>"#;
        let t = text(html);
        assert!(
            t.starts_with("Tide & moon\n\nHeading\nFirst bold\u{a0}paraé.\nSecond"),
            "{t}"
        );
        for gone in [
            "secret",
            "color",
            "hidden words",
            "css hidden",
            "comment",
            "template",
        ] {
            assert!(!t.contains(gone), "{gone} leaked: {t}");
        }
        assert!(t.contains("one\ntwo"), "{t}");
        assert!(t.contains("a   b\nc"), "{t}");
    }

    #[test]
    fn charset_from_meta_bom_and_detection() {
        let latin1 = b"<html><head><meta charset=\"iso-8859-1\"></head><body>caf\xe9</body></html>";
        assert_eq!(extract(latin1).unwrap(), "caf\u{e9}");
        let http_equiv =
            b"<meta http-equiv=Content-Type content=\"text/html; charset=windows-1251\"><p>\xcf\xf0\xe8";
        assert_eq!(extract(http_equiv).unwrap(), "\u{41f}\u{440}\u{438}");
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "<p>h\u{e9}</p>".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(extract(&utf16).unwrap(), "h\u{e9}");
        assert_eq!(
            extract(b"<p>na\xefve caf\xe9 cr\xe8me br\xfbl\xe9e</p>").unwrap(),
            "na\u{ef}ve caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e"
        );
    }

    #[test]
    fn hostile_markup_is_bounded() {
        let deep = "<div>".repeat(100_000) + "x";
        assert!(
            matches!(visible_text(&deep), Err(ExtractError::Failed(r)) if r.contains("nested"))
        );
        // Unclosed paragraphs do not pile up.
        let paras = "<p>para ".repeat(100_000);
        assert!(visible_text(&paras).is_ok());
        for junk in [
            "<",
            "<a",
            "<a b='",
            "</",
            "<!--",
            "<script>",
            "&#xFFFFFFFF;",
            "&#0;",
            "<![CDATA[x",
            "<title>t",
        ] {
            let _ = text(junk);
        }
        assert_eq!(
            unescape("&#xFFFFFFFF; &bogus; &amp"),
            "&#xFFFFFFFF; &bogus; &amp"
        );
    }
}
