//! A tiny PDF writer for tests: numbered objects, a cross-reference table with exact byte offsets, a trailer.
//! Text is set in Helvetica (`BT /F1 11 Tf … Tj ET`, one `Tj` per wrapped line); an image page draws a small
//! DeviceGray image XObject with `Do` and has no text at all, like a scanned page. Options build hostile
//! shapes: a page tree whose `Kids` point back at an ancestor, and an `/Encrypt` dictionary whose password
//! nobody knows.
#![allow(dead_code)]

/// One page of a generated PDF.
pub enum Page<'a> {
    /// Paragraphs of text, wrapped to fit the page.
    Text(&'a [&'a str]),
    /// A full-page image and no text (a scan).
    Image,
}

#[derive(Default, Clone, Copy)]
pub struct Options {
    /// The second half of the pages sits in a `Pages` node whose `Kids` also list the root `Pages` node.
    pub page_tree_cycle: bool,
    /// A standard-security `/Encrypt` dictionary in the trailer (an unknown user password).
    pub encrypted: bool,
}

/// Escapes a PDF literal string; text is Latin-1 (WinAnsi for these characters).
fn literal(s: &str) -> Vec<u8> {
    let mut out = vec![b'('];
    for c in s.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push(b'\\');
                out.push(c as u8);
            }
            c if (c as u32) < 256 => out.push(c as u32 as u8),
            _ => out.push(b'?'),
        }
    }
    out.push(b')');
    out
}

/// Greedy word wrap to at most `width` characters per line.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn text_stream(paragraphs: &[&str]) -> Vec<u8> {
    let mut s = b"BT\n/F1 11 Tf\n14 TL\n72 720 Td\n".to_vec();
    for (i, p) in paragraphs.iter().enumerate() {
        if i > 0 {
            s.extend_from_slice(b"T*\n");
        }
        for line in wrap(p, 80) {
            s.extend_from_slice(&literal(&line));
            s.extend_from_slice(b" Tj T*\n");
        }
    }
    s.extend_from_slice(b"ET\n");
    s
}

fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut o = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    o.extend_from_slice(data);
    o.extend_from_slice(b"\nendstream");
    o
}

/// Builds a whole PDF file.
pub fn build(pages: &[Page], options: Options) -> Vec<u8> {
    // Object numbers: 1 catalog, 2 root pages, 3 font, 4 inner pages node (cycle only), then per page:
    // page, content stream, and an image for image pages.
    let mut objects: Vec<Vec<u8>> = vec![Vec::new(); 4];
    objects[2] =
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec();
    let mut page_ids = Vec::new();
    let split = if options.page_tree_cycle {
        pages.len().div_ceil(2)
    } else {
        pages.len()
    };
    for (i, page) in pages.iter().enumerate() {
        let parent = if i < split { 2 } else { 4 };
        let page_id = objects.len() + 1;
        let content_id = page_id + 1;
        page_ids.push(page_id);
        let (resources, content, image) = match page {
            Page::Text(paragraphs) => (
                "/Font << /F1 3 0 R >>".to_string(),
                text_stream(paragraphs),
                None,
            ),
            Page::Image => {
                let image_id = page_id + 2;
                let pixels: Vec<u8> = (0..64u32).map(|i| (i * 4) as u8).collect();
                (
                    format!("/XObject << /Im1 {image_id} 0 R >>"),
                    b"q 400 0 0 500 100 150 cm /Im1 Do Q\n".to_vec(),
                    Some(stream(
                        "/Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray /BitsPerComponent 8",
                        &pixels,
                    )),
                )
            }
        };
        objects.push(format!(
            "<< /Type /Page /Parent {parent} 0 R /MediaBox [0 0 612 792] /Resources << {resources} >> /Contents {content_id} 0 R >>"
        ).into_bytes());
        objects.push(stream("", &content));
        if let Some(image) = image {
            objects.push(image);
        }
    }
    let refs = |ids: &[usize]| {
        ids.iter()
            .map(|id| format!("{id} 0 R"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>".to_vec();
    if options.page_tree_cycle {
        let (first, second) = page_ids.split_at(split);
        objects[1] = format!(
            "<< /Type /Pages /Kids [{} 4 0 R] /Count {} >>",
            refs(first),
            pages.len()
        )
        .into_bytes();
        // The inner node lists its own pages and then the root again: a loop for a naive walker.
        objects[3] = format!(
            "<< /Type /Pages /Parent 2 0 R /Kids [{} 2 0 R] /Count {} >>",
            refs(second),
            second.len()
        )
        .into_bytes();
    } else {
        objects[1] = format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            refs(&page_ids),
            pages.len()
        )
        .into_bytes();
        objects[3] = b"null".to_vec();
    }
    let encrypt_id = if options.encrypted {
        let o = "7A".repeat(32);
        let u = "3C".repeat(32);
        objects.push(
            format!("<< /Filter /Standard /V 2 /R 3 /Length 128 /P -3904 /O <{o}> /U <{u}> >>")
                .into_bytes(),
        );
        Some(objects.len())
    } else {
        None
    };

    let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    let mut trailer = format!("<< /Size {} /Root 1 0 R", objects.len() + 1);
    if let Some(id) = encrypt_id {
        let file_id = "0123456789ABCDEF".repeat(2);
        trailer.push_str(&format!(" /Encrypt {id} 0 R /ID [<{file_id}> <{file_id}>]"));
    }
    trailer.push_str(" >>");
    out.extend_from_slice(format!("trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    out
}

/// The committed multi-page fixture `tests/fixtures/formats/field-notes.pdf`: its page 2 holds the passage
/// [`FIELD_NOTES_PASSAGE`].
pub fn field_notes() -> Vec<u8> {
    build(
        &[
            Page::Text(&[
                "Field notes, northern survey, winter season.",
                "Day one: we set up camp near the marsh and counted reed warblers at dawn. The guide \
                 lent us a second tent because the first one had a torn seam.",
            ]),
            Page::Text(&[
                "Day four.",
                FIELD_NOTES_PASSAGE,
            ]),
            Page::Text(&[
                "Day nine: soil samples from the upper meadow were sealed, labelled and posted to the \
                 laboratory in town.",
                "Supplies left: rice, lentils, two candles and one box of matches.",
            ]),
        ],
        Options::default(),
    )
}

pub const FIELD_NOTES_PASSAGE: &str =
    "The old ferry across the fjord stopped running for two weeks when \
the ice grew too thick, so the village children skied to school along the frozen shoreline.";
