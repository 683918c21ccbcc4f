//! "The text of a mail message": `mail-parser` decodes MIME (quoted-printable, base64, RFC 2047 words,
//! charsets); each message becomes one header line (Subject, From, To, Date) followed by its text bodies, HTML
//! bodies as visible text (`html`). Transport and authentication headers (Received, DKIM, …) never reach the
//! text. An MBOX is split on its `From ` lines (`>From ` quoting undone); its messages follow one another, each
//! starting with a separator line and its own header line. Each message is capped at `limits::MESSAGE_BYTES`.

use mail_parser::{Address, MessageParser, PartType};

use super::{html, limits, push_capped, tidy, ExtractError};

/// The text of one message (an `.eml` file).
pub(crate) fn extract_eml(bytes: &[u8]) -> Result<String, ExtractError> {
    let bytes = &bytes[..bytes.len().min(limits::MESSAGE_BYTES)];
    message(bytes).ok_or_else(|| ExtractError::Failed("not a valid e-mail message".into()))
}

/// Separator written before each message of an MBOX after the first.
pub(crate) const SEPARATOR: &str = "\n\n\u{2014}\u{2014}\u{2014}\n\n";

/// The messages of an MBOX file, one after another.
pub(crate) fn extract_mbox(bytes: &[u8]) -> Result<String, ExtractError> {
    let mut out = String::new();
    let mut count = 0;
    for raw in split_mbox(bytes) {
        let raw = unquote_from(&raw[..raw.len().min(limits::MESSAGE_BYTES)]);
        let Some(text) = message(&raw) else { continue };
        if count > 0 {
            out.push_str(SEPARATOR);
        }
        push_capped(&mut out, &text);
        count += 1;
        if out.len() >= limits::TEXT_BYTES {
            break;
        }
    }
    if count == 0 {
        return Err(ExtractError::Failed(
            "no e-mail messages found in the mailbox".into(),
        ));
    }
    Ok(out)
}

/// Splits an MBOX on lines that start with `From ` (at the start of the file or after a newline); the
/// `From ` line itself is dropped.
fn split_mbox(bytes: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    if bytes.starts_with(b"From ") {
        starts.push(0);
    }
    let mut i = 0;
    while let Some(p) = bytes[i..].windows(6).position(|w| w == b"\nFrom ") {
        starts.push(i + p + 1);
        i += p + 1;
    }
    if starts.is_empty() {
        return vec![bytes];
    }
    let mut messages = Vec::with_capacity(starts.len());
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(bytes.len());
        let chunk = &bytes[start..end];
        // Drop the "From sender date" line.
        let body = chunk
            .iter()
            .position(|&b| b == b'\n')
            .map_or(&chunk[chunk.len()..], |p| &chunk[p + 1..]);
        if !body.iter().all(u8::is_ascii_whitespace) {
            messages.push(body);
        }
    }
    messages
}

/// Undoes MBOX `From ` quoting (mboxrd): a line `>From …` (or `>>From …`) loses one `>`.
fn unquote_from(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let quoted = |line: &[u8]| {
        let gts = line.iter().take_while(|&&b| b == b'>').count();
        gts > 0 && line[gts..].starts_with(b"From ")
    };
    if !raw.split(|&b| b == b'\n').any(quoted) {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    for (n, line) in raw.split(|&b| b == b'\n').enumerate() {
        if n > 0 {
            out.push(b'\n');
        }
        out.extend_from_slice(if quoted(line) { &line[1..] } else { line });
    }
    std::borrow::Cow::Owned(out)
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

fn message(raw: &[u8]) -> Option<String> {
    let msg = MessageParser::default().parse(raw)?;
    let mut fields = Vec::new();
    let subject = msg.subject().unwrap_or("").trim();
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
    let mut bodies = String::new();
    // `text_body` lists the text parts to show (an HTML part where a message has no plain one).
    let parts: Vec<_> = if msg.text_body_count() > 0 {
        msg.text_bodies().collect()
    } else {
        msg.html_bodies().collect()
    };
    for part in parts {
        let text = match &part.body {
            PartType::Text(t) => t.to_string(),
            PartType::Html(h) => html::visible_text(h).map(|p| p.body).unwrap_or_default(),
            _ => continue,
        };
        if !bodies.is_empty() {
            bodies.push_str("\n\n");
        }
        push_capped(&mut bodies, &text);
    }
    out.push_str(&tidy(&bodies));
    Some(out.trim_end().to_string())
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
        let text = extract_mbox(mbox.as_bytes()).unwrap();
        let messages: Vec<_> = text.split(SEPARATOR).collect();
        assert_eq!(messages.len(), 2, "{text}");
        assert!(
            messages[1].starts_with(
                "Subject: Second \u{b7} From: b@example.com\n\nSecond body\nFrom the start"
            ),
            "{text}"
        );
        let _ = extract_eml(b"\x00\x01garbage");
        assert!(extract_mbox(b"").is_err());
    }
}
