//! "The text of an RTF document": a small tokenizer (there is no robust RTF crate). It keeps the body text:
//! `\par`/`\line`/`\row` end lines, `\tab`/`\cell` separate; `\'hh` bytes decode in the document's code page
//! (`\ansicpg`, through `encoding_rs`); `\uN` is a Unicode character followed by `\ucN` fallback characters that
//! are dropped. Font, colour and style tables, `{\*…}` destinations, pictures, objects, field instructions and
//! `\binN` data are skipped. Group nesting is a counter with a cap, never recursion.

use encoding_rs::Encoding;

use super::{limits, push_capped, tidy, ExtractError};

/// Destinations whose content is not body text.
const SKIP: &[&str] = &[
    "fonttbl",
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "object",
    "fldinst",
    "listtable",
    "listoverridetable",
    "revtbl",
    "rsidtbl",
    "generator",
    "xmlnstbl",
    "themedata",
    "colorschememapping",
    "datastore",
    "latentstyles",
    "pgdsctbl",
    "header",
    "headerl",
    "headerr",
    "headerf",
    "footer",
    "footerl",
    "footerr",
    "footerf",
    "filetbl",
    "bkmkstart",
    "bkmkend",
    "objdata",
    "nonshppict",
    "shppict",
    "private",
    "mmathPr",
    "template",
    "userprops",
    "xe",
    "tc",
];

#[derive(Clone, Copy)]
struct Group {
    skip: bool,
    uc: usize,
}

pub(crate) fn extract(bytes: &[u8]) -> Result<String, ExtractError> {
    if !bytes.starts_with(b"{\\rtf") {
        return Err(ExtractError::Failed("not a valid RTF document".into()));
    }
    let mut encoding: &'static Encoding = encoding_rs::WINDOWS_1252;
    let mut out = String::new();
    let mut pending: Vec<u8> = Vec::new(); // code-page bytes not yet decoded
    let mut stack: Vec<Group> = Vec::new();
    let mut group = Group { skip: false, uc: 1 };
    let mut skip_chars = 0usize; // fallback characters left to drop after \uN
    let mut new_group = false; // just after '{': a `\*` or a skipped destination word makes it skipped
    let mut i = 0;
    let b = bytes;
    let flush = |pending: &mut Vec<u8>, out: &mut String, enc: &'static Encoding| {
        if !pending.is_empty() {
            let (text, _, _) = enc.decode(pending);
            push_capped(out, &text);
            pending.clear();
        }
    };
    while i < b.len() {
        if out.len() >= limits::TEXT_BYTES {
            break;
        }
        let c = b[i];
        match c {
            b'{' => {
                if stack.len() >= limits::NESTING {
                    return Err(ExtractError::Failed(format!(
                        "the RTF document is nested more than {} groups deep",
                        limits::NESTING
                    )));
                }
                stack.push(group);
                new_group = true;
                skip_chars = 0;
                i += 1;
            }
            b'}' => {
                flush(&mut pending, &mut out, encoding);
                group = stack.pop().unwrap_or(group);
                new_group = false;
                skip_chars = 0;
                i += 1;
            }
            b'\\' => {
                let Some(&next) = b.get(i + 1) else { break };
                if next.is_ascii_alphabetic() {
                    let start = i + 1;
                    let mut j = start;
                    while j < b.len() && b[j].is_ascii_alphabetic() && j - start < 32 {
                        j += 1;
                    }
                    let word = std::str::from_utf8(&b[start..j]).unwrap_or("");
                    let num_start = j;
                    if j < b.len() && b[j] == b'-' {
                        j += 1;
                    }
                    while j < b.len() && b[j].is_ascii_digit() && j - num_start < 10 {
                        j += 1;
                    }
                    let param: Option<i64> = std::str::from_utf8(&b[num_start..j])
                        .ok()
                        .and_then(|s| s.parse().ok());
                    if j < b.len() && b[j] == b' ' {
                        j += 1;
                    }
                    i = j;
                    if new_group && SKIP.contains(&word) {
                        group.skip = true;
                    }
                    new_group = false;
                    match word {
                        "bin" => {
                            let n = param.unwrap_or(0).max(0) as usize;
                            i = i.saturating_add(n).min(b.len());
                            continue;
                        }
                        "ansicpg" => {
                            if let Some(enc) = param.and_then(code_page) {
                                encoding = enc;
                            }
                            continue;
                        }
                        "mac" => {
                            encoding = encoding_rs::MACINTOSH;
                            continue;
                        }
                        "uc" => {
                            group.uc = param.unwrap_or(1).clamp(0, 8) as usize;
                            continue;
                        }
                        _ => {}
                    }
                    if group.skip {
                        continue;
                    }
                    if word == "u" {
                        flush(&mut pending, &mut out, encoding);
                        let n = param.unwrap_or(0);
                        let n = if n < 0 { n + 65536 } else { n };
                        if let Some(ch) = u32::try_from(n).ok().and_then(char::from_u32) {
                            out.push(ch);
                        }
                        skip_chars = group.uc;
                        continue;
                    }
                    let text = match word {
                        "par" | "line" | "sect" | "page" | "row" => "\n",
                        "tab" | "cell" => "\t",
                        "emdash" => "\u{2014}",
                        "endash" => "\u{2013}",
                        "lquote" => "\u{2018}",
                        "rquote" => "\u{2019}",
                        "ldblquote" => "\u{201c}",
                        "rdblquote" => "\u{201d}",
                        "bullet" => "\u{2022}",
                        _ => "",
                    };
                    if !text.is_empty() {
                        flush(&mut pending, &mut out, encoding);
                        out.push_str(text);
                    }
                } else {
                    // Control symbol.
                    i += 2;
                    match next {
                        b'*' if new_group => group.skip = true,
                        b'\'' => {
                            let hex = b.get(i..i + 2).and_then(|h| std::str::from_utf8(h).ok());
                            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                                i += 2;
                                if skip_chars > 0 {
                                    skip_chars -= 1;
                                } else if !group.skip {
                                    pending.push(v);
                                }
                            }
                        }
                        b'\\' | b'{' | b'}' if !group.skip => {
                            if skip_chars > 0 {
                                skip_chars -= 1;
                            } else {
                                pending.push(next);
                            }
                        }
                        b'~' if !group.skip => {
                            flush(&mut pending, &mut out, encoding);
                            out.push('\u{a0}');
                        }
                        b'_' if !group.skip => pending.push(b'-'),
                        b'\n' | b'\r' if !group.skip => {
                            flush(&mut pending, &mut out, encoding);
                            out.push('\n');
                        }
                        _ => {}
                    }
                    new_group = false;
                }
            }
            b'\r' | b'\n' => i += 1,
            _ => {
                new_group = false;
                i += 1;
                if skip_chars > 0 {
                    skip_chars -= 1;
                } else if !group.skip {
                    pending.push(c);
                }
            }
        }
    }
    flush(&mut pending, &mut out, encoding);
    Ok(tidy(&out))
}

/// The encoding of a Windows code page number.
fn code_page(n: i64) -> Option<&'static Encoding> {
    Some(match n {
        932 => encoding_rs::SHIFT_JIS,
        936 => encoding_rs::GBK,
        949 => encoding_rs::EUC_KR,
        950 => encoding_rs::BIG5,
        10000 => encoding_rs::MACINTOSH,
        65001 => encoding_rs::UTF_8,
        _ => return Encoding::for_label(format!("windows-{n}").as_bytes()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_text_with_code_page_and_unicode() {
        let rtf = br"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss Helvetica;}}{\colortbl;\red255\green0\blue0;}
{\*\generator Riched20;}{\info{\title Secret title}}\pard\f0\fs24 Caf\'e9 cr\'e8me\par
Second line\tab tabbed \u8364?uro and \{braces\}\par
{\pict\wmetafile8 0102030405}{\field{\*\fldinst HYPERLINK x}{\fldrslt link text}}\par
\bin3 abcDone}";
        let text = extract(rtf).unwrap();
        assert_eq!(
            text,
            "Caf\u{e9} cr\u{e8}me\nSecond line\ttabbed \u{20ac}uro and {braces}\nlink text\nDone"
        );
    }

    #[test]
    fn cyrillic_code_page_and_hostile_input() {
        let rtf = br"{\rtf1\ansi\ansicpg1251 \'cf\'f0\'e8\'e2\'e5\'f2}";
        assert_eq!(
            extract(rtf).unwrap(),
            "\u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}"
        );
        let deep = format!("{{\\rtf1 {}x", "{".repeat(100_000));
        assert!(
            matches!(extract(deep.as_bytes()), Err(ExtractError::Failed(r)) if r.contains("nested"))
        );
        assert!(extract(b"plain text").is_err());
        for junk in [
            &b"{\\rtf1\\"[..],
            b"{\\rtf1\\'",
            b"{\\rtf1\\'zz",
            b"{\\rtf1\\bin99999999",
            b"{\\rtf1}}}}",
            b"{\\rtf1\\u-99999999999",
        ] {
            let _ = extract(junk);
        }
    }
}
