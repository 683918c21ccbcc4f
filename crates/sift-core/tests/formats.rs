//! Document formats end to end: real-format fixtures (HTML, DOCX, PPTX, XLSX, ODT, ODS, ODP, EPUB, EML, MBOX,
//! RTF)
//! and hostile files, all generated here byte for byte, indexed by the real engine with the real model.
//! Each fixture holds one passage that a paraphrase (sharing no content word with it) must find first; text a
//! reader never sees (script, style, hidden elements, mail transport headers) must not be searchable; hostile
//! files (a zip bomb renamed .docx, a truncated DOCX, a billion-laughs ODT, 100,000-deep HTML) end as failed
//! files with a reason while the good files beside them stay searchable.

mod pdfgen;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use sift_core::{
    Engine, EngineConfig, FileStatus, IndexReport, Location, Mode, SearchOptions, SearchResponse,
};
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// (file, paraphrase query that must find it first).
const QUERIES: &[(&str, &str)] = &[
    (
        "harbour.html",
        "who switches on the beacon guiding boats at night",
    ),
    ("bakery.docx", "bread sales doubled"),
    (
        "volunteers.pptx",
        "people who gave their time put young trees by the stream to prevent erosion",
    ),
    (
        "repairs.xlsx",
        "paying a tradesperson to mend broken rooftop tiles after heavy rain",
    ),
    (
        "committee.odt",
        "the council put off the yearly outdoor meal",
    ),
    (
        "wildlife.ods",
        "Antarctic flightless birds press close together against icy gales",
    ),
    (
        "insects.odp",
        "insects tell colony members where nectar is through movement patterns",
    ),
    (
        "voyage.epub",
        "crew secured themselves during a violent ocean tempest",
    ),
    (
        "wedding.eml",
        "venue reserved for a marriage celebration in early summer",
    ),
    (
        "inbox.mbox",
        "tooth doctor rescheduled visit after equipment failure",
    ),
    (
        "plumbing.rtf",
        "a tradesman mended a split water line below the basin",
    ),
    (
        "report.eml",
        "a child defeated the title holder at a board game competition",
    ),
];

/// Good files that no paraphrase query names (their own checks are below).
const OTHER_GOOD_FILES: usize = 1; // kayak.eml

/// Where the passage a paraphrase finds sits in its file.
fn expected_location(file: &str) -> Option<Location> {
    Some(match file {
        "bakery.docx" => Location::Page { number: 2 },
        "committee.odt" => Location::Page { number: 2 },
        "volunteers.pptx" => Location::Slide { number: 2 },
        "insects.odp" => Location::Slide { number: 2 },
        "repairs.xlsx" => Location::Sheet {
            number: 2,
            name: "Expenses".into(),
        },
        "wildlife.ods" => Location::Sheet {
            number: 1,
            name: "Observations".into(),
        },
        "voyage.epub" => Location::Chapter {
            number: 2,
            title: "The Storm at Sea".into(),
        },
        "inbox.mbox" => Location::Message {
            number: 2,
            subject: "Appointment".into(),
        },
        _ => return None,
    })
}

/// Words that exist only where a reader never sees them.
const INVISIBLE: &[&str] = &[
    "zanzibarscript",
    "quokkastyle",
    "wombathidden",
    "numbatnone",
    "headmetaword",
    "xyzzyrelay",
    "plughsignature",
    "frobozzreceived",
    "helveticasecret",
    "rtfgeneratorword",
];

fn zip_file(path: &Path, entries: &[(&str, &[u8])]) {
    std::fs::write(path, zip_bytes(entries)).unwrap();
}

fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        let method = if *name == "mimetype" {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        w.start_file(
            *name,
            SimpleFileOptions::default().compression_method(method),
        )
        .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A zip bomb: 200 MB of zeros deflated to a few hundred KB, as a DOCX's only part.
fn zip_bomb() -> &'static [u8] {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file(
            "word/document.xml",
            SimpleFileOptions::default()
                .compression_method(CompressionMethod::Deflated)
                .large_file(true),
        )
        .unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..200 {
            w.write_all(&zeros).unwrap();
        }
        w.finish().unwrap().into_inner()
    })
}

/// Base64 in 76-character lines, as mail writes it.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + data.len() / 38 + 4);
    for (i, c) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let n = u32::from_be_bytes([0, c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)]);
        for k in 0..4 {
            out.push(if k <= c.len() {
                ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// A message with a text body and one base64 attachment.
fn mail_with_attachment(subject: &str, body: &str, name: &str, attachment: &[u8]) -> String {
    format!(
        "From: Flo <flo@example.com>\r\nTo: Bob <bob@example.org>\r\nSubject: {subject}\r\n\
Date: Tue, 1 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"sep\"\r\n\r\n--sep\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n--sep\r\n\
Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; name=\"{name}\"\r\n\
Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
{}\r\n--sep--\r\n",
        base64(attachment)
    )
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#;
const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;
const R: &str = r#"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships""#;
const A: &str = r#"xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main""#;

/// A paragraph "\u{c}" is an explicit page break; the paragraph after it starts with the rendered page break
/// Word writes where the new page begins (one new page, not two).
fn docx_xml(paragraphs: &[&str]) -> String {
    let mut body = String::new();
    let mut after_break = false;
    for p in paragraphs {
        if *p == "\u{c}" {
            body.push_str(r#"<w:p><w:r><w:br w:type="page"/></w:r></w:p>"#);
            after_break = true;
            continue;
        }
        let rendered = if after_break {
            "<w:lastRenderedPageBreak/>"
        } else {
            ""
        };
        after_break = false;
        body.push_str(&format!(r#"<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr><w:r>{rendered}<w:t xml:space="preserve">{p}</w:t></w:r></w:p>"#));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W}><w:body>{body}<w:p><w:del><w:r><w:delText>deletedtextword</w:delText></w:r></w:del></w:p></w:body></w:document>"#
    )
}

fn docx(path: &Path, paragraphs: &[&str]) {
    std::fs::write(path, docx_bytes(paragraphs)).unwrap();
}

fn docx_bytes(paragraphs: &[&str]) -> Vec<u8> {
    zip_bytes(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("word/document.xml", docx_xml(paragraphs).as_bytes()),
    ])
}

fn rels(entries: &[(&str, &str)]) -> String {
    let body: String = entries
        .iter()
        .map(|(id, target)| format!(r#"<Relationship Id="{id}" Type="x" Target="{target}"/>"#))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{body}</Relationships>"#
    )
}

fn slide(texts: &[&str]) -> String {
    let paras: String = texts
        .iter()
        .map(|t| format!("<a:p><a:r><a:t>{t}</a:t></a:r></a:p>"))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><p:sld {A}><p:cSld><p:spTree><p:sp><p:txBody>{paras}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>"#
    )
}

fn pptx(path: &Path) {
    // Presentation order is slide2.xml, then slide1.xml: order comes from the presentation, not file names.
    let presentation = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><p:presentation {A} {R}><p:sldIdLst><p:sldId id="256" r:id="rId3"/><p:sldId id="257" r:id="rId2"/></p:sldIdLst></p:presentation>"#
    );
    zip_file(
        path,
        &[
            ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
            ("ppt/presentation.xml", presentation.as_bytes()),
            (
                "ppt/_rels/presentation.xml.rels",
                rels(&[("rId2", "slides/slide1.xml"), ("rId3", "/ppt/slides/slide2.xml")]).as_bytes(),
            ),
            ("ppt/slides/slide2.xml", slide(&["Spring project", "Agenda and goals for the season"]).as_bytes()),
            (
                "ppt/slides/_rels/slide2.xml.rels",
                r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/slideLayout" Target="../slideLayouts/slideLayout1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/notesSlide" Target="../notesSlides/notesSlide7.xml"/></Relationships>"#.as_bytes(),
            ),
            (
                "ppt/notesSlides/notesSlide7.xml",
                format!(r#"<?xml version="1.0" encoding="UTF-8"?><p:notes {A}><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>Thank the marmalade stall for lending gloves.</a:t></a:r></a:p></p:txBody></p:sp><p:sp><p:txBody><a:p><a:fld id="x" type="slidenum"><a:t>4242</a:t></a:fld></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:notes>"#).as_bytes(),
            ),
            (
                "ppt/slides/slide1.xml",
                slide(&["Results", "Volunteers planted three hundred oak saplings along the riverbank to stop the soil from washing away."]).as_bytes(),
            ),
        ],
    );
}

fn xlsx(path: &Path) {
    let workbook = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" {R}><sheets><sheet name="Income" sheetId="2" r:id="rId2"/><sheet name="Expenses" sheetId="1" r:id="rId1"/></sheets></workbook>"#
    );
    let shared = r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="3" uniqueCount="3"><si><t>Item</t></si><si><t>Note</t></si><si><r><t>The roof leaked during the storm </t></r><r><t>so we hired a contractor to replace the damaged shingles.</t></r></si></sst>"#;
    let sheet = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1"><v>1250</v></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>Repairs</t></is></c><c r="B2" t="s"><v>2</v></c><c r="C2"><f>SUM(C1)</f><v>1250</v></c></row></sheetData></worksheet>"#;
    zip_file(
        path,
        &[
            ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
            ("xl/workbook.xml", workbook.as_bytes()),
            (
                "xl/_rels/workbook.xml.rels",
                rels(&[("rId1", "worksheets/sheet1.xml"), ("rId2", "worksheets/sheet2.xml")]).as_bytes(),
            ),
            ("xl/sharedStrings.xml", shared.as_bytes()),
            ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
            ("xl/worksheets/sheet2.xml", r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Donations from the spring fair</t></is></c><c r="B1"><v>830</v></c></row></sheetData></worksheet>"#.as_bytes()),
        ],
    );
}

const ODF_NS: &str = r#"xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0""#;

fn odf(path: &Path, mimetype: &str, body: &str) {
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODF_NS} office:version="1.3"><office:body>{body}</office:body></office:document-content>"#
    );
    zip_file(
        path,
        &[
            ("mimetype", mimetype.as_bytes()),
            ("content.xml", content.as_bytes()),
        ],
    );
}

fn epub(path: &Path) {
    let container = r#"<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#;
    let opf = r#"<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/><item id="c1" href="Text/chapter%201.xhtml" media-type="application/xhtml+xml"/><item id="c2" href="Text/chapter2.xhtml" media-type="application/xhtml+xml"/></manifest><spine><itemref idref="c1"/><itemref idref="c2"/></spine></package>"#;
    let nav = r#"<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body><nav epub:type="toc"><ol><li><a href="Text/chapter%201.xhtml">Leaving Port</a></li><li><a href="Text/chapter2.xhtml#start">The Storm at Sea</a></li></ol></nav></body></html>"#;
    let chapter = |title: &str, text: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml"><head><title>{title}</title></head><body><p>{text}</p></body></html>"#
        )
    };
    zip_file(
        path,
        &[
            ("mimetype", b"application/epub+zip"),
            ("META-INF/container.xml", container.as_bytes()),
            ("OEBPS/content.opf", opf.as_bytes()),
            ("OEBPS/nav.xhtml", nav.as_bytes()),
            (
                "OEBPS/Text/chapter 1.xhtml",
                chapter("Book", "The harbour was quiet when the schooner left with its cargo of apples.").as_bytes(),
            ),
            (
                "OEBPS/Text/chapter2.xhtml",
                chapter("Book", "The sailors lowered the sails and tied themselves to the mast as the waves grew taller than the ship.").as_bytes(),
            ),
        ],
    );
}

const HTML: &str = r#"<!DOCTYPE html>
<html><head><meta charset="windows-1252"><title>Harbour notes</title>
<meta name="keywords" content="headmetaword">
<style>.zz { content: "quokkastyle"; }</style>
<script>var s = "zanzibarscript"; if (a < b && c > d) {}</script></head>
<body><nav>Home | About</nav>
<p>The lighthouse keeper climbs the spiral stairs every evening to light the lamp that warns ships away from the rocks.</p>
<div hidden><p>wombathidden</p></div><span style="display: none">numbatnone</span>
<p>Caf&eacute; on the pier opens at nine.</p></body></html>"#;

fn mail(subject: &str, from: &str, body: &str) -> String {
    format!(
        "Received: from frobozzreceived.example.net by mx.example.org; Tue, 1 Dec 2026 10:00:00 +0000\r\n\
DKIM-Signature: v=1; a=rsa-sha256; d=xyzzyrelay.example.net; b=plughsignature\r\n\
From: {from}\r\nTo: Bob <bob@example.org>\r\nSubject: {subject}\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

fn write_fixtures(root: &Path) {
    // windows-1252 as declared: re-encode the one non-ASCII character.
    let html1252: Vec<u8> = HTML
        .replace("Caf&eacute;", "Caf\u{e9}")
        .chars()
        .map(|c| if c == '\u{e9}' { 0xE9 } else { c as u8 })
        .collect();
    std::fs::write(root.join("harbour.html"), html1252).unwrap();
    docx(
        &root.join("bakery.docx"),
        &[
            "Quarterly report",
            "\u{c}",
            "Our bakery sold twice as many sourdough loaves this spring because the new oven bakes forty at once.",
        ],
    );
    pptx(&root.join("volunteers.pptx"));
    xlsx(&root.join("repairs.xlsx"));
    odf(
        &root.join("committee.odt"),
        "application/vnd.oasis.opendocument.text",
        r#"<office:text><text:h>Minutes</text:h><text:p>Attending: the chair and the treasurer.</text:p><text:soft-page-break/><text:p>The committee agreed to postpone the annual picnic<text:s/>until the flooded park has dried out.</text:p></office:text>"#,
    );
    odf(
        &root.join("wildlife.ods"),
        "application/vnd.oasis.opendocument.spreadsheet",
        r#"<office:spreadsheet><table:table table:name="Observations"><table:table-row><table:table-cell><text:p>Emperor</text:p></table:table-cell><table:table-cell table:number-columns-repeated="16384"/><table:table-cell><text:p>Penguins huddle together in winter to share warmth against the freezing wind.</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet>"#,
    );
    odf(
        &root.join("insects.odp"),
        "application/vnd.oasis.opendocument.presentation",
        r#"<office:presentation><draw:page draw:name="1"><draw:frame><draw:text-box><text:p>Honey</text:p></draw:text-box></draw:frame></draw:page><draw:page draw:name="2"><draw:frame><draw:text-box><text:p>Bees communicate the location of flowers to their hive mates by dancing in figure eights.</text:p></draw:text-box></draw:frame></draw:page></office:presentation>"#,
    );
    epub(&root.join("voyage.epub"));
    // Quoted-printable Latin-1 body.
    let wedding = "Received: from frobozzreceived.example.net by mx.example.org; Tue, 1 Dec 2026 10:00:00 +0000\r\n\
DKIM-Signature: v=1; a=rsa-sha256; d=xyzzyrelay.example.net; b=plughsignature\r\n\
From: =?iso-8859-1?q?Ren=E9e?= <renee@example.net>\r\nTo: Bob <bob@example.org>\r\nSubject: Plans for June\r\n\
Date: Tue, 1 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
Ren=E9e booked the ch=E2teau garden for her sister's wedding reception in J=\r\nune.\r\n";
    std::fs::write(root.join("wedding.eml"), wedding).unwrap();
    let mbox = [
        mail(
            "Garden",
            "Ann <ann@example.com>",
            "The garden hose leaks at the tap; I will buy a new washer.",
        ),
        mail(
            "Appointment",
            "Cy <cy@example.com>",
            "The dentist moved my appointment to Thursday morning because her drill broke.",
        ),
        mail(
            "Books",
            "Di <di@example.com>",
            "The library returned my overdue novels and waived the fine.",
        ),
        mail(
            "Re: Garden",
            "Ed <ed@example.com>",
            "I have a spare washer in the shed, no need to buy one.",
        ),
    ]
    .iter()
    .map(|m| {
        format!(
            "From someone@example.com Tue Dec  1 10:00:00 2026\n{}\n",
            m.replace("\r\n", "\n")
        )
    })
    .collect::<String>();
    std::fs::write(root.join("inbox.mbox"), mbox).unwrap();
    // Attachments: a DOCX whose text is found through the message; a zip bomb that must not fail its message.
    let minutes = docx_bytes(&[
        "Club news",
        "A twelve-year-old won the chess club's winter tournament by beating the reigning champion in twenty moves.",
    ]);
    let report = mail_with_attachment("Club news", "Minutes attached.", "minutes.docx", &minutes);
    std::fs::write(root.join("report.eml"), report).unwrap();
    let kayak = mail_with_attachment(
        "Closing",
        "The kayak rental closes for the season on the last Sunday of October.",
        "huge.docx",
        zip_bomb(),
    );
    std::fs::write(root.join("kayak.eml"), kayak).unwrap();
    let rtf = r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss Helveticasecret;}}{\*\generator rtfgeneratorword;}
\pard\f0\fs24 Caf\'e9 notes\par
The plumber fixed the burst pipe under the kitchen sink before the floor was ruined.\par}";
    std::fs::write(root.join("plumbing.rtf"), rtf).unwrap();
}

/// Hostile files; returns their names.
fn write_hostile(root: &Path) -> Vec<&'static str> {
    // A zip bomb renamed .docx: 200 MB of zeros deflated to a few hundred KB.
    std::fs::write(root.join("bomb.docx"), zip_bomb()).unwrap();
    // A truncated DOCX: the first half of a good one.
    let good = root.join("whole.tmp");
    docx(
        &good,
        &["A complete paragraph that will be cut short by truncation."; 50],
    );
    let bytes = std::fs::read(&good).unwrap();
    std::fs::remove_file(&good).unwrap();
    std::fs::write(root.join("truncated.docx"), &bytes[..bytes.len() / 2]).unwrap();
    // An ODT whose content.xml is a billion-laughs XML bomb.
    let mut laughs = String::from(
        r#"<?xml version="1.0"?><!DOCTYPE office:document-content [<!ENTITY lol "lol">"#,
    );
    laughs.push_str(r#"<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">"#);
    for i in 2..10 {
        let prev = format!("&lol{};", i - 1).repeat(10);
        laughs.push_str(&format!(r#"<!ENTITY lol{i} "{prev}">"#));
    }
    laughs.push_str(&format!(
        r#"]><office:document-content {ODF_NS}><office:body><office:text><text:p>&lol9;</text:p></office:text></office:body></office:document-content>"#
    ));
    zip_file(
        &root.join("laughs.odt"),
        &[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", laughs.as_bytes()),
        ],
    );
    // HTML nested 100,000 elements deep.
    let deep = "<div>".repeat(100_000) + "deep" + &"</div>".repeat(100_000);
    std::fs::write(root.join("deep.html"), deep).unwrap();
    vec!["bomb.docx", "truncated.docx", "laughs.odt", "deep.html"]
}

fn open(data: &Path) -> Engine {
    let mut config = EngineConfig::new(data).unwrap();
    config.settings.threads = 2;
    Engine::open(config).unwrap()
}

fn index(engine: &Engine) -> IndexReport {
    engine.index(&mut |_| {}, &AtomicBool::new(false)).unwrap()
}

fn search(engine: &Engine, query: &str, mode: Mode) -> SearchResponse {
    engine
        .search(
            query,
            &SearchOptions {
                mode,
                ..SearchOptions::default()
            },
        )
        .unwrap()
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// The tests of this file run one at a time: the mailbox test measures the process's peak memory.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The process's peak resident memory so far (`VmHWM`), in bytes.
fn peak_memory() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

#[test]
fn every_format_is_found_by_meaning_and_hostile_files_fail_alone() {
    let _serial = serial();
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_fixtures(files.path());
    // `SIFT_WRITE_FIXTURES_TO=DIR` keeps a copy of the good fixtures (for `sift bench extract`).
    if let Some(out) = std::env::var_os("SIFT_WRITE_FIXTURES_TO") {
        write_fixtures(Path::new(&out));
    }
    let hostile = write_hostile(files.path());
    let engine = open(data.path());
    engine.add_folder(files.path()).unwrap();
    let report = index(&engine);

    // Hostile files: failed, each with a reason; nothing else failed or was skipped.
    let problems: Vec<(String, String)> = report
        .problems
        .iter()
        .map(|(p, r)| (name(p), r.clone()))
        .collect();
    for bad in &hostile {
        let reason = problems.iter().find(|(n, _)| n == bad).map(|(_, r)| r);
        assert!(
            reason.is_some_and(|r| !r.is_empty()),
            "{bad} must be reported with a reason: {problems:?}"
        );
    }
    assert_eq!(
        problems.len(),
        hostile.len(),
        "only the hostile files have problems: {problems:?}"
    );
    assert_eq!(
        report.files_indexed as usize,
        QUERIES.len() + OTHER_GOOD_FILES,
        "{report:?}"
    );
    let reason = |n: &str| problems.iter().find(|(p, _)| p == n).unwrap().1.clone();
    assert!(
        reason("bomb.docx").contains("zip bomb"),
        "{}",
        reason("bomb.docx")
    );
    assert!(
        reason("truncated.docx").contains("not a valid Word document"),
        "{}",
        reason("truncated.docx")
    );
    assert!(
        reason("laughs.odt").contains("entities"),
        "{}",
        reason("laughs.odt")
    );
    assert!(
        reason("deep.html").contains("nested"),
        "{}",
        reason("deep.html")
    );

    // Every format: a paraphrase finds its file first, at the right page/slide/sheet/chapter/message.
    let mut misses = Vec::new();
    for (file, query) in QUERIES {
        let r = search(&engine, query, Mode::Hybrid);
        let first: Option<PathBuf> = r.results.first().map(|h| h.path.clone());
        if first.as_deref().map(name).as_deref() != Some(*file) {
            misses.push(format!(
                "{query:?} should find {file} first, got {:?}",
                r.results.iter().map(|h| name(&h.path)).collect::<Vec<_>>()
            ));
        } else if let Some(expected) = expected_location(file) {
            let passage = &r.results[0].passage;
            if passage.location.as_ref() != Some(&expected) || passage.page != expected.page() {
                misses.push(format!(
                    "{query:?} should find {file} at {expected:?}, got {:?} (page {:?}): {:?}",
                    passage.location, passage.page, passage.text
                ));
            }
        }
    }
    assert!(misses.is_empty(), "{misses:#?}");

    // What a reader never sees is not searchable.
    for word in INVISIBLE {
        let r = search(&engine, word, Mode::Keyword);
        assert!(
            r.results.is_empty(),
            "{word} must not be searchable: {:?}",
            r.results
        );
    }
    for word in ["deletedtextword", "Received", "DKIM", "4242"] {
        let r = search(&engine, word, Mode::Keyword);
        assert!(
            r.results.is_empty(),
            "{word} must not be searchable: {:?}",
            r.results
        );
    }

    // Structure: titles, headers, order, decoding.
    let passage = |query: &str, mode: Mode| {
        search(&engine, query, mode)
            .results
            .first()
            .map(|h| (name(&h.path), h.passage.text.clone()))
            .unwrap_or_default()
    };
    let (f, t) = passage("Harbour notes lighthouse", Mode::Keyword);
    assert_eq!(f, "harbour.html");
    assert!(t.starts_with("Harbour notes"), "the title comes first: {t}");
    let (f, t) = passage("pier", Mode::Keyword);
    assert!(
        f == "harbour.html" && t.contains("Caf\u{e9} on the pier"),
        "windows-1252 decoded: {t}"
    );
    let (f, t) = passage("dentist", Mode::Keyword);
    assert_eq!(f, "inbox.mbox");
    assert!(
        t.contains("Subject: Appointment \u{b7} From: Cy <cy@example.com> \u{b7} To: Bob <bob@example.org> \u{b7} Date: 2026-12-01T10:00:00Z\n\nThe dentist"),
        "each message starts with its header line: {t}"
    );
    let (f, t) = passage("château", Mode::Keyword);
    assert_eq!(f, "wedding.eml");
    assert!(
        t.starts_with("Subject: Plans for June \u{b7} From: Ren\u{e9}e <renee@example.net>"),
        "{t}"
    );
    assert!(
        t.contains("wedding reception in June."),
        "quoted-printable soft break joined: {t}"
    );
    // Located passages: a passage never spans two chapters/slides/sheets/pages/messages.
    let located = |query: &str| {
        search(&engine, query, Mode::Keyword)
            .results
            .first()
            .map(|h| {
                (
                    name(&h.path),
                    h.passage.text.clone(),
                    h.passage.location.clone(),
                )
            })
            .unwrap_or_default()
    };
    let (f, t, at) = located("sailors");
    assert_eq!(f, "voyage.epub");
    assert!(
        t.starts_with("The Storm at Sea\n\nThe sailors"),
        "chapter title from the table of contents, then the chapter alone: {t}"
    );
    assert_eq!(at, expected_location("voyage.epub"));
    let (f, t, at) = located("schooner");
    assert_eq!(f, "voyage.epub");
    assert!(t.starts_with("Leaving Port\n\nThe harbour"), "{t}");
    assert_eq!(
        at,
        Some(Location::Chapter {
            number: 1,
            title: "Leaving Port".into()
        }),
        "spine order"
    );
    let (f, t, at) = located("saplings");
    assert_eq!(f, "volunteers.pptx");
    assert!(t.starts_with("Results\nVolunteers"), "slide 2 alone: {t}");
    assert_eq!(at, Some(Location::Slide { number: 2 }));
    let (f, t, at) = located("marmalade");
    assert_eq!(f, "volunteers.pptx");
    assert_eq!(
        t, "Spring project\nAgenda and goals for the season\n\nNotes:\nThank the marmalade stall for lending gloves.",
        "speaker notes follow their slide (presentation order: slide2.xml is slide 1)"
    );
    assert_eq!(at, Some(Location::Slide { number: 1 }));
    let (f, _, at) = located("Donations");
    assert_eq!(f, "repairs.xlsx");
    assert_eq!(
        at,
        Some(Location::Sheet {
            number: 1,
            name: "Income".into()
        })
    );
    let (f, t, at) = located("treasurer");
    assert_eq!(f, "committee.odt");
    assert!(t.starts_with("Minutes\nAttending"), "{t}");
    assert_eq!(at, Some(Location::Page { number: 1 }));
    let (f, t, at) = located("Quarterly");
    assert_eq!(f, "bakery.docx");
    assert_eq!(t, "Quarterly report", "page 1 alone");
    assert_eq!(at, Some(Location::Page { number: 1 }));
    // Two messages of one mailbox that match are two results, each at its message.
    let washer: Vec<(String, Option<Location>)> = search(&engine, "washer", Mode::Keyword)
        .results
        .iter()
        .map(|h| (name(&h.path), h.passage.location.clone()))
        .collect();
    let mut messages: Vec<_> = washer
        .iter()
        .filter(|(f, _)| f == "inbox.mbox")
        .map(|(_, at)| at.clone())
        .collect();
    messages.sort_by_key(|at| format!("{at:?}"));
    assert_eq!(
        messages,
        [
            Some(Location::Message {
                number: 1,
                subject: "Garden".into()
            }),
            Some(Location::Message {
                number: 4,
                subject: "Re: Garden".into()
            }),
        ],
        "{washer:?}"
    );
    // Attachments: read into their message; a bomb attachment is skipped, its message indexed.
    let (f, t, at) = located("tournament");
    assert_eq!(f, "report.eml");
    assert!(
        t.contains("Minutes attached.\n\nAttachment: minutes.docx\n\nClub news\nA twelve-year-old"),
        "{t}"
    );
    assert_eq!(at, None, "a single message has no location");
    let (f, t, _) = located("kayak");
    assert_eq!(f, "kayak.eml");
    assert!(!t.contains("Attachment:"), "{t}");
    let (f, t) = passage("shingles", Mode::Keyword);
    assert_eq!(f, "repairs.xlsx");
    assert!(
        t.starts_with("Expenses\nItem\tNote\t1250\nRepairs\tThe roof leaked"),
        "{t}"
    );
    assert!(!t.contains("SUM"), "formulas are not text: {t}");
    let (f, t) = passage("penguins", Mode::Keyword);
    assert_eq!(f, "wildlife.ods");
    assert!(
        t.len() < 1000,
        "repeated empty cells are not expanded: {} bytes",
        t.len()
    );
}

/// An MBOX with a 200 MB message (a base64 attachment) between two normal ones: the mailbox is not "too large",
/// both normal messages are found at their message, and memory stays bounded while it is read.
#[cfg(target_os = "linux")]
#[test]
fn a_huge_mailbox_message_is_read_past_in_bounded_memory() {
    let _serial = serial();
    let warm = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let engine = open(data.path());
    // Warm the embedder up on a small folder first so its buffers are not counted below.
    std::fs::write(
        warm.path().join("warm.txt"),
        "Stir the porridge slowly with a wooden spoon and add a pinch of salt.",
    )
    .unwrap();
    engine.add_folder(warm.path()).unwrap();
    index(&engine);

    let path = files.path().join("archive.mbox");
    {
        let mut out =
            std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
        let envelope = "From someone@example.com Tue Dec  1 10:00:00 2026\n";
        let first = mail(
            "Boiler",
            "Gus <gus@example.com>",
            "The heating engineer serviced the boiler and bled every radiator in the house.",
        );
        writeln!(out, "{envelope}{}", first.replace("\r\n", "\n")).unwrap();
        write!(
            out,
            "{envelope}From: Hal <hal@example.com>\nSubject: Backup\nMIME-Version: 1.0\n\
Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nThe backup is attached.\n--b\n\
Content-Type: application/octet-stream; name=\"backup.bin\"\nContent-Transfer-Encoding: base64\n\n"
        )
        .unwrap();
        // Over 200 MB of base64 lines, written in 1 MB blocks.
        let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\n";
        let block = line.repeat((1 << 20) / line.len());
        for _ in 0..201 {
            out.write_all(block.as_bytes()).unwrap();
        }
        write!(out, "--b--\n\n").unwrap();
        let last = mail(
            "Orchard",
            "Ivy <ivy@example.com>",
            "Frost in April ruined most of the apple blossom, so the cider harvest will be small.",
        );
        writeln!(out, "{envelope}{}", last.replace("\r\n", "\n")).unwrap();
        out.flush().unwrap();
    }
    assert!(std::fs::metadata(&path).unwrap().len() > 200 << 20);

    engine.add_folder(files.path()).unwrap();
    let before = peak_memory();
    let report = index(&engine);
    let grew = peak_memory().saturating_sub(before);
    assert!(report.problems.is_empty(), "{report:?}");
    assert_eq!(report.files_indexed, 1, "{report:?}");

    for (query, number, subject) in [
        ("someone came to maintain the central heating", 1, "Boiler"),
        (
            "late cold weather damaged the fruit tree flowers",
            3,
            "Orchard",
        ),
    ] {
        let r = search(&engine, query, Mode::Hybrid);
        let first = r.results.first().expect("a result");
        assert_eq!(name(&first.path), "archive.mbox", "{query}");
        assert_eq!(
            first.passage.location,
            Some(Location::Message {
                number,
                subject: subject.into()
            }),
            "{query}: {:?}",
            first.passage.text
        );
    }
    let r = search(&engine, "backup", Mode::Keyword);
    assert_eq!(
        r.results.first().and_then(|h| h.passage.location.clone()),
        Some(Location::Message {
            number: 2,
            subject: "Backup".into()
        }),
        "the huge message keeps its headers and the start of its body"
    );

    // Reading the mailbox holds one message at a time, at most `MESSAGE_BYTES` (32 MB) of it: the kept raw
    // message, mail-parser's decoded parts (no larger than the raw bytes) and the message's text — about three
    // times 32 MB at worst, plus the embedder's work for a few passages. Holding the 200 MB message (or the
    // whole 200 MB file) would exceed 200 MB on its own.
    eprintln!(
        "peak memory grew by {} MB while indexing the mailbox",
        grew >> 20
    );
    assert!(
        grew < 150 << 20,
        "peak memory grew by {} MB while reading a 200 MB message",
        grew >> 20
    );
}

/// The committed multi-page PDF fixture (the app's end-to-end test searches it too).
fn field_notes_fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/formats/field-notes.pdf")
}

/// The committed fixture is exactly what `pdfgen::field_notes` writes. `SIFT_WRITE_FIXTURES=1` rewrites it.
#[test]
fn committed_pdf_fixture_is_the_generated_one() {
    let path = field_notes_fixture();
    let generated = pdfgen::field_notes();
    if std::env::var_os("SIFT_WRITE_FIXTURES").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read(&path).unwrap();
    assert!(
        committed == generated,
        "{} is stale: rerun with SIFT_WRITE_FIXTURES=1",
        path.display()
    );
}

/// Paraphrase of `pdfgen::FIELD_NOTES_PASSAGE` sharing no content word with it (nor a stem).
const FIELD_NOTES_QUERY: &str =
    "boat crossing halted by freezing weather so youngsters glided to lessons";

#[test]
fn pdfs_are_read_by_page_and_scanned_encrypted_and_broken_ones_are_reported() {
    use pdfgen::{build, Options, Page};
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let root = files.path();
    std::fs::copy(field_notes_fixture(), root.join("field-notes.pdf")).unwrap();
    std::fs::write(
        root.join("recipe.txt"),
        "Knead the dough for ten minutes, then let it rise in a warm place for an hour.",
    )
    .unwrap();
    // Two scanned pages: images, no text layer.
    std::fs::write(
        root.join("scanned.pdf"),
        build(&[Page::Image, Page::Image], Options::default()),
    )
    .unwrap();
    // One text page between two scanned ones: the text page is kept (a file is skipped as scanned only
    // when 4 in 5 of its pages are scans).
    let mixed_text = ["The orchard's apple harvest was gathered into wooden crates by hand."];
    std::fs::write(
        root.join("mixed.pdf"),
        build(
            &[Page::Image, Page::Text(&mixed_text), Page::Image],
            Options::default(),
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("encrypted.pdf"),
        build(
            &[Page::Text(&["Secret payroll figures nobody may read."])],
            Options {
                encrypted: true,
                ..Options::default()
            },
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("cycle.pdf"),
        build(
            &[
                Page::Text(&["A reachable page about migrating cranes over the valley."]),
                Page::Text(&["Another page in the looping part of the tree."]),
                Page::Text(&["A third page, also under the node that loops."]),
            ],
            Options {
                page_tree_cycle: true,
                ..Options::default()
            },
        ),
    )
    .unwrap();
    // Garbage with a PDF header; and the first half of a long, good PDF.
    let mut corrupt = b"%PDF-1.7\n".to_vec();
    corrupt.extend((0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(root.join("corrupt.pdf"), corrupt).unwrap();
    let paragraph = ["A long report paragraph repeated to make many pages of text."; 20];
    let long: Vec<Page> = (0..40).map(|_| Page::Text(&paragraph)).collect();
    let long = build(&long, Options::default());
    std::fs::write(root.join("truncated.pdf"), &long[..long.len() / 2]).unwrap();
    // Cut just before its cross-reference table: every object is there and PDFium would rebuild the table,
    // but the end of the file is missing (a copy in progress).
    let xref = long.windows(5).rposition(|w| w == b"xref\n").unwrap();
    std::fs::write(root.join("cut.pdf"), &long[..xref]).unwrap();

    let engine = open(data.path());
    engine.add_folder(root).unwrap();
    let report = index(&engine);
    let problems = engine.problem_files(None).unwrap();
    let problem = |file: &str| {
        problems
            .iter()
            .find(|p| name(&p.path) == file)
            .map(|p| (p.status, p.reason.clone()))
    };

    // Each bad file has its own reason: two skipped (scanned, encrypted), three or four failed (corrupt,
    // truncated, cut, and the cycle if PDFium refused it).
    assert_eq!(report.files_skipped, 2, "{report:?}");
    assert!((3..=4).contains(&report.files_failed), "{report:?}");
    assert_eq!(
        problem("scanned.pdf"),
        Some((
            FileStatus::Skipped,
            "scanned \u{2014} no text layer (needs OCR)".into()
        ))
    );
    assert_eq!(
        problem("encrypted.pdf"),
        Some((FileStatus::Skipped, "encrypted (password-protected)".into()))
    );
    let (status, reason) = problem("corrupt.pdf").expect("corrupt.pdf reported");
    assert!(
        status == FileStatus::Failed && reason.starts_with("corrupt PDF"),
        "{status:?} {reason}"
    );
    let (status, reason) = problem("truncated.pdf").expect("truncated.pdf reported");
    assert!(
        status == FileStatus::Failed && reason.contains("PDF"),
        "{status:?} {reason}"
    );
    assert_eq!(
        problem("cut.pdf"),
        Some((
            FileStatus::Failed,
            "truncated PDF (the end of the file is missing)".into()
        ))
    );
    // The page-tree cycle: survived; either its reachable pages are read or it fails with a reason.
    match problem("cycle.pdf") {
        None => {
            let r = search(&engine, "cranes", Mode::Keyword);
            assert_eq!(
                r.results.first().map(|h| name(&h.path)).as_deref(),
                Some("cycle.pdf")
            );
        }
        Some((status, reason)) => assert!(
            status == FileStatus::Failed && !reason.is_empty(),
            "{status:?} {reason}"
        ),
    }
    assert_eq!(problem("field-notes.pdf"), None);
    assert_eq!(problem("mixed.pdf"), None);
    assert_eq!(problem("recipe.txt"), None);

    // The multi-page PDF: a paraphrase finds its page 2.
    let r = search(&engine, FIELD_NOTES_QUERY, Mode::Hybrid);
    let hit = r.results.first().expect("a result");
    assert_eq!(name(&hit.path), "field-notes.pdf", "{:?}", r.results);
    assert!(
        hit.passage.text.contains("skied to school"),
        "{}",
        hit.passage.text
    );
    assert_eq!(hit.passage.page, Some(2));
    assert_eq!(hit.passage.location, Some(Location::Page { number: 2 }));
    // Page 1 and page 3 are their own passages, with their own numbers.
    for (word, page) in [("warblers", 1), ("lentils", 3)] {
        let r = search(&engine, word, Mode::Keyword);
        let hit = r.results.first().expect("a result");
        assert_eq!(name(&hit.path), "field-notes.pdf");
        assert_eq!(hit.passage.page, Some(page), "{word}");
        assert!(!hit.passage.text.contains("fjord"), "{}", hit.passage.text);
    }
    // The text page of the mixed file, at its page number; the files beside the bad ones are searchable.
    let r = search(&engine, "orchard harvest", Mode::Keyword);
    let hit = r.results.first().expect("a result");
    assert_eq!(
        (name(&hit.path), hit.passage.page),
        ("mixed.pdf".into(), Some(2))
    );
    let r = search(&engine, "knead dough", Mode::Keyword);
    assert_eq!(
        r.results.first().map(|h| name(&h.path)).as_deref(),
        Some("recipe.txt")
    );
    // Nothing from the encrypted file leaked into the index.
    assert!(search(&engine, "payroll", Mode::Keyword).results.is_empty());
}
