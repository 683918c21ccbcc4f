//! "The text of a mail message": `mail-parser` decodes MIME (quoted-printable, base64, RFC 2047 words,
//! charsets); each message becomes one header line (Subject, From, To, Date) followed by its text bodies, HTML
//! bodies as visible text (`html`), then the text of each attachment Sift reads (`Attachment: name`, through
//! the same readers, one level deep: mail attached to mail is not opened). Transport and authentication headers
//! (Received, DKIM, …) never reach the text.
//!
//! An MBOX is streamed, never held whole: lines are read through a buffer and split into messages at `From `
//! lines that start the file or follow a blank line (the `From ` line itself is dropped, mboxrd `>From `
//! quoting undone). Each message is held up to `limits::MESSAGE_BYTES` — a larger one keeps its headers and the
//! start of its body, the rest is read past without being kept — and becomes its own part (`Message`, numbered
//! in file order, with its subject). The text stops at `limits::TEXT_BYTES`.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use mail_parser::{Address, MessageParser, MimeHeaders, PartType};

use super::{
    extract_attachment, html, io_reason, limits, push_capped, tidy, Builder, ExtractError,
    Extracted, Location,
};
use crate::chunk::TextKind;

/// The text of one message (an `.eml` file).
pub(crate) fn extract_eml(bytes: &[u8]) -> Result<String, ExtractError> {
    let bytes = &bytes[..bytes.len().min(limits::MESSAGE_BYTES)];
    message(bytes)
        .map(|m| m.text)
        .ok_or_else(|| ExtractError::Failed("not a valid e-mail message".into()))
}

/// The messages of an MBOX file, one part each, read a line at a time.
pub(crate) fn extract_mbox(path: &Path) -> Result<Extracted, ExtractError> {
    let file = File::open(path).map_err(|e| ExtractError::Failed(io_reason(&e)))?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut mbox = Mailbox::default();
    let mut line = Vec::new();
    let mut after_blank = true; // the start of the file counts as a blank line
    loop {
        // Keep at most what the message has room for (and always enough to see a `From ` line).
        let keep = limits::MESSAGE_BYTES.saturating_sub(mbox.raw.len()).max(8);
        let Some(len) = next_line(&mut reader, &mut line, keep)
            .map_err(|e| ExtractError::Failed(io_reason(&e)))?
        else {
            break;
        };
        if after_blank && line.starts_with(b"From ") {
            mbox.flush();
            if mbox.doc.full() {
                break;
            }
        } else {
            mbox.push_line(&line, len > line.len());
        }
        after_blank = len <= 2 && line.iter().all(|&b| b == b'\n' || b == b'\r');
    }
    mbox.flush();
    if mbox.count == 0 {
        return Err(ExtractError::Failed(
            "no e-mail messages found in the mailbox".into(),
        ));
    }
    Ok(mbox.doc.finish(TextKind::Plain))
}

/// An MBOX being read: the message so far and the text of those before it.
#[derive(Default)]
struct Mailbox {
    raw: Vec<u8>,
    /// The message was longer than `limits::MESSAGE_BYTES`: only its start is kept.
    cut: bool,
    count: u32,
    doc: Builder,
}

impl Mailbox {
    /// Adds a line (already cut to the room left) to the message, undoing mboxrd `>From ` quoting.
    fn push_line(&mut self, line: &[u8], line_was_cut: bool) {
        let gts = line.iter().take_while(|&&b| b == b'>').count();
        let line = if gts > 0 && line[gts..].starts_with(b"From ") {
            &line[1..]
        } else {
            line
        };
        let room = limits::MESSAGE_BYTES.saturating_sub(self.raw.len());
        if line_was_cut || line.len() > room {
            self.cut = true;
        }
        self.raw.extend_from_slice(&line[..line.len().min(room)]);
    }

    /// Ends the current message: its text becomes the next part.
    fn flush(&mut self) {
        if self.raw.iter().all(u8::is_ascii_whitespace) {
            self.raw.clear();
            return;
        }
        self.count += 1;
        let number = self.count;
        if self.cut {
            tracing::info!(
                message = number,
                "mailbox message over {} MB: only its start is read",
                limits::MESSAGE_BYTES / (1024 * 1024)
            );
        }
        if let Some(m) = message(&self.raw) {
            let location = Location::Message {
                number,
                subject: m.subject,
            };
            self.doc.push_tidy(Some(location), &m.text);
        }
        self.raw.clear();
        if self.raw.capacity() > 1024 * 1024 {
            // Give a large message's memory back rather than hold it for the rest of the mailbox.
            self.raw = Vec::new();
        }
        self.cut = false;
    }
}

/// Reads the next line (with its `\n`) into `line`, keeping at most `keep` bytes; the rest of a longer line is
/// read past and dropped. Returns the line's full length, or `None` at the end of the file.
fn next_line(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    keep: usize,
) -> std::io::Result<Option<usize>> {
    line.clear();
    let mut total = 0;
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok((total > 0).then_some(total));
        }
        let (n, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(p) => (p + 1, true),
            None => (buf.len(), false),
        };
        let room = keep.saturating_sub(line.len());
        line.extend_from_slice(&buf[..n.min(room)]);
        reader.consume(n);
        total += n;
        if done {
            return Ok(Some(total));
        }
    }
}

fn addresses(a: Option<&Address<'_>>) -> String {
    let Some(a) = a else { return String::new() };
    a.iter()
        .map(|addr| match (addr.name(), addr.address()) {
            (Some(n), Some(e)) => format!("{n} <{e}>"),
            (Some(n), None) => n.to_string(),
            (None, Some(e)) => e.to_string(),
            (None, None) => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One message's text and subject.
struct Message {
    subject: String,
    text: String,
}

fn message(raw: &[u8]) -> Option<Message> {
    let msg = MessageParser::default().parse(raw)?;
    let mut fields = Vec::new();
    let subject = msg.subject().unwrap_or("").trim().to_string();
    if !subject.is_empty() {
        fields.push(format!("Subject: {subject}"));
    }
    for (label, value) in [("From", addresses(msg.from())), ("To", addresses(msg.to()))] {
        if !value.is_empty() {
            fields.push(format!("{label}: {value}"));
        }
    }
    if let Some(date) = msg.date() {
        fields.push(format!("Date: {}", date.to_rfc3339()));
    }
    if fields.is_empty() && msg.text_body_count() == 0 && msg.html_body_count() == 0 {
        return None;
    }
    let mut out = fields.join(" \u{b7} ");
    out.push_str("\n\n");
    // `text_body` lists the text parts to show (an HTML part where a message has no plain one).
    let bodies = if msg.text_body_count() > 0 {
        &msg.text_body
    } else {
        &msg.html_body
    };
    let mut first = true;
    for part in bodies.iter().filter_map(|&i| msg.parts.get(i as usize)) {
        let text = match &part.body {
            PartType::Text(t) => tidy(t),
            PartType::Html(h) => html::visible_text(h)
                .map(|p| tidy(&p.body))
                .unwrap_or_default(),
            _ => continue,
        };
        if !first {
            push_capped(&mut out, "\n\n");
        }
        first = false;
        push_capped(&mut out, &text);
    }
    for &i in &msg.attachments {
        if msg.text_body.contains(&i) || msg.html_body.contains(&i) {
            continue;
        }
        let Some(part) = msg.parts.get(i as usize) else {
            continue;
        };
        if let Some((name, text)) = attachment(part) {
            push_capped(&mut out, &format!("\n\nAttachment: {name}\n\n"));
            push_capped(&mut out, &text);
        }
    }
    let end = out.trim_end().len();
    out.truncate(end);
    Some(Message { subject, text: out })
}

/// The name and tidied text of an attachment Sift reads; `None` (with a note in the log when it failed) for
/// any other. Attached messages are not opened: attachments are read one level deep.
fn attachment(part: &mail_parser::MessagePart<'_>) -> Option<(String, String)> {
    if matches!(part.body, PartType::Message(_) | PartType::Multipart(_)) {
        return None;
    }
    let name = match part.attachment_name() {
        Some(name) => name.replace(['\r', '\n', '\t'], " ").trim().to_string(),
        None if part.is_text_html() => "attachment.html".to_string(),
        None => return None,
    };
    // The reader is chosen by the name's extension, as for a file on disk.
    match extract_attachment(&name, part.contents()) {
        Ok(text) => {
            let text = tidy(&text);
            (!text.is_empty()).then_some((name, text))
        }
        Err(ExtractError::Skipped(reason)) => {
            tracing::debug!(attachment = %name, %reason, "mail attachment not read");
            None
        }
        Err(ExtractError::Failed(reason)) => {
            tracing::warn!(attachment = %name, %reason, "mail attachment skipped");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QP_LATIN1: &str =
        "Received: from relay.example.net by mx.example.org; Tue, 1 Dec 2026 10:00:00 +0000\r\n\
DKIM-Signature: v=1; a=rsa-sha256; d=example.net; b=SECRETSIGNATURE\r\n\
From: =?iso-8859-1?q?Ren=E9e?= <renee@example.net>\r\n\
To: Bob <bob@example.org>\r\n\
Subject: =?utf-8?b?Q2Fmw6kgbWVldGluZw==?=\r\n\
Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Le caf=E9 ouvre =E0 huit heures, nous pourrons y pr=E9parer la r=E9union.=\r\n\
 Fin.\r\n";

    #[test]
    fn header_line_then_decoded_body_without_transport_headers() {
        let text = extract_eml(QP_LATIN1.as_bytes()).unwrap();
        let first = text.lines().next().unwrap();
        assert_eq!(
            first,
            "Subject: Caf\u{e9} meeting \u{b7} From: Ren\u{e9}e <renee@example.net> \u{b7} To: Bob <bob@example.org> \u{b7} Date: 2026-12-01T10:00:00Z"
        );
        assert!(text.contains("Le caf\u{e9} ouvre \u{e0} huit heures, nous pourrons y pr\u{e9}parer la r\u{e9}union.Fin."), "{text}");
        for gone in [
            "Received",
            "relay",
            "DKIM",
            "SECRETSIGNATURE",
            "MIME-Version",
        ] {
            assert!(!text.contains(gone), "{gone} leaked: {text}");
        }
    }

    #[test]
    fn html_and_base64_bodies_and_mbox() {
        let html_mail =
            "From: a@example.com\r\nSubject: Hi\r\nContent-Type: text/html; charset=utf-8\r\n\
Content-Transfer-Encoding: base64\r\n\r\n\
PGh0bWw+PHN0eWxlPnAge2NvbG9yOnJlZH08L3N0eWxlPjxwPkhlbGxvIHRoZXJlPC9wPjwvaHRtbD4=\r\n";
        let text = extract_eml(html_mail.as_bytes()).unwrap();
        assert_eq!(
            text,
            "Subject: Hi \u{b7} From: a@example.com\n\nHello there"
        );
        let mbox = format!(
            "From a@example.com Mon Jan  1 00:00:00 2024\n{}\nFrom b@example.com Mon Jan  1 00:00:00 2024\nFrom: b@example.com\nSubject: Second\n\nSecond body\n>From the start\n",
            html_mail.replace("\r\n", "\n")
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.mbox");
        std::fs::write(&path, &mbox).unwrap();
        let doc = extract_mbox(&path).unwrap();
        let subjects: Vec<_> = doc
            .parts
            .iter()
            .map(|p| match &p.location {
                Location::Message { number, subject } => (*number, subject.as_str()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(subjects, [(1, "Hi"), (2, "Second")], "{doc:?}");
        assert!(
            doc.text[doc.parts[1].start..].starts_with(
                "Subject: Second \u{b7} From: b@example.com\n\nSecond body\nFrom the start"
            ),
            "{doc:?}"
        );
        // A `From ` line in a body that does not follow a blank line starts no message.
        std::fs::write(&path, "From a\nSubject: One\n\nbody\nFrom here on\n").unwrap();
        let doc = extract_mbox(&path).unwrap();
        assert_eq!(doc.parts.len(), 1, "{doc:?}");
        assert!(doc.text.ends_with("body\nFrom here on"), "{doc:?}");
        std::fs::write(&path, "").unwrap();
        assert!(extract_mbox(&path).is_err());
    }

    #[test]
    fn long_lines_are_read_past_not_kept() {
        let data = [vec![b'x'; 100_000], b"\nnext\n".to_vec()].concat();
        let mut reader = std::io::BufReader::with_capacity(4096, &data[..]);
        let mut line = Vec::new();
        assert_eq!(
            next_line(&mut reader, &mut line, 10).unwrap(),
            Some(100_001)
        );
        assert_eq!(line, b"xxxxxxxxxx");
        assert_eq!(next_line(&mut reader, &mut line, 10).unwrap(), Some(5));
        assert_eq!(line, b"next\n");
        assert_eq!(next_line(&mut reader, &mut line, 10).unwrap(), None);
    }

    #[test]
    fn readable_attachments_are_appended_and_bad_ones_skipped() {
        let attached = |name: &str, ctype: &str, body: &[u8]| {
            let b64 = base64(body);
            format!(
                "From: a@example.com\r\nSubject: Files\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n\
--b\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
            )
        };
        let text = extract_eml(
            attached(
                "notes.html",
                "text/html",
                b"<p>Hidden <b>treasure</b> map</p><script>nope()</script>",
            )
            .as_bytes(),
        )
        .unwrap();
        assert!(
            text.ends_with("See attached.\n\nAttachment: notes.html\n\nHidden treasure map"),
            "{text}"
        );
        // Mail inside mail, unreadable types and corrupt documents are left out; the message stays.
        for (name, ctype) in [
            ("inner.eml", "message/rfc822"),
            ("photo.png", "image/png"),
            ("broken.docx", "application/octet-stream"),
        ] {
            let body = b"Subject: inner\r\n\r\nPK\x03\x04 inner words";
            let text = extract_eml(attached(name, ctype, body).as_bytes()).unwrap();
            assert!(text.ends_with("See attached."), "{name}: {text}");
        }
    }

    /// Standard base64 with line breaks, as mail writes it.
    fn base64(data: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for (i, c) in data.chunks(3).enumerate() {
            if i > 0 && i % 19 == 0 {
                out.push_str("\r\n");
            }
            let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
            let n = u32::from_be_bytes([0, b[0], b[1], b[2]]);
            for k in 0..4 {
                if k <= c.len() {
                    out.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}
