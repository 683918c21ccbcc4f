//! "Passages in, a checked draft answer out": the grounded prompt and the checks on what the model wrote.
//!
//! [`build_prompt`] numbers the passages `[1]..[n]` (each with its file name), asks for a brief answer that
//! cites those numbers, or "Not in your files." when they do not hold it, and cuts passages to fit the
//! token budget (the model's context minus the reply's room): whole passages in rank order while they fit,
//! the next one cut at a word, the rest left out.
//!
//! [`check`] decides what may be shown. Every `[n]` must name a passage that was given; every quoted span
//! ("…", “…”) must appear in a passage its sentence cites (or, when the sentence cites none, one the answer
//! cites), compared with case and whitespace normalised; an answer must cite at least one passage. An empty
//! answer, one that says the passages do not hold the answer, or one that fails a check becomes
//! [`Answer::NotFound`], shown as "Not found in your files" with the passages still listed.

use serde::Serialize;

use crate::generate::ChatMessage;

/// What is shown instead of an answer the passages do not support.
pub const NOT_FOUND: &str = "Not found in your files";

/// The instruction the model gets.
pub const SYSTEM_PROMPT: &str = "Answer the question briefly, using only the numbered passages. Cite the passage numbers in brackets, like [1]. If the passages do not contain the answer, reply: Not in your files.";

/// A passage as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// What the passage is labelled with (the file name).
    pub label: String,
    /// The passage text given to the model (possibly cut to fit).
    pub text: String,
}

/// The prompt for one question.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub messages: Vec<ChatMessage>,
    /// The passages given, numbered from 1 in this order, as the model saw them.
    pub sources: Vec<Source>,
    /// Passages offered but left out for lack of room.
    pub dropped: usize,
    /// Whether a passage was cut to fit.
    pub cut: bool,
}

/// Builds the grounded prompt. `count_tokens` measures text in the model's tokens; `budget` is how many the
/// whole prompt may take (the chat template's own tokens are estimated within it).
pub fn build_prompt(
    question: &str,
    passages: &[Source],
    budget: usize,
    count_tokens: &dyn Fn(&str) -> usize,
) -> Prompt {
    // The template's markers and role names: a few tokens per message, generously.
    const TEMPLATE_OVERHEAD: usize = 32;
    // A passage cut below this is not worth giving.
    const MIN_PASSAGE_TOKENS: usize = 24;
    let question = question.trim();
    let fixed = count_tokens(SYSTEM_PROMPT)
        + count_tokens(&format!("Passages:\n\nQuestion: {question}"))
        + TEMPLATE_OVERHEAD;
    let mut left = budget.saturating_sub(fixed);
    let mut sources = Vec::new();
    let mut cut = false;
    for p in passages {
        let number = sources.len() + 1;
        let head = format!("[{number}] {}: ", p.label);
        let head_tokens = count_tokens(&head) + 1;
        let text = tidy(&p.text);
        if left < head_tokens + MIN_PASSAGE_TOKENS {
            break;
        }
        let room = left - head_tokens;
        let tokens = count_tokens(&text);
        let text = if tokens <= room {
            left -= head_tokens + tokens;
            text
        } else {
            let kept = cut_to_tokens(&text, room, count_tokens);
            if kept.is_empty() {
                break;
            }
            cut = true;
            left = left.saturating_sub(head_tokens + count_tokens(&kept));
            kept
        };
        sources.push(Source {
            label: p.label.clone(),
            text,
        });
    }
    let mut user = String::from("Passages:\n");
    for (i, s) in sources.iter().enumerate() {
        user.push_str(&format!("[{}] {}: {}\n", i + 1, s.label, s.text));
    }
    user.push_str(&format!("\nQuestion: {question}"));
    Prompt {
        messages: vec![
            ChatMessage::new("system", SYSTEM_PROMPT),
            ChatMessage::new("user", user),
        ],
        dropped: passages.len() - sources.len(),
        sources,
        cut,
    }
}

/// One line of text: runs of whitespace (newlines included) become one space.
fn tidy(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The longest word prefix of `text` within `max_tokens`, with "…" when cut.
fn cut_to_tokens(text: &str, max_tokens: usize, count_tokens: &dyn Fn(&str) -> usize) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let (mut lo, mut hi) = (0usize, words.len());
    // Largest n with count(words[..n] + "…") <= max_tokens.
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let candidate = format!("{} …", words[..mid].join(" "));
        if count_tokens(&candidate) <= max_tokens {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    if lo == 0 {
        String::new()
    } else {
        format!("{} …", words[..lo].join(" "))
    }
}

/// The checked answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Answer {
    /// The draft passed every check: its text and the passage numbers it cites (1-based, in order of first
    /// mention).
    Answered { text: String, citations: Vec<usize> },
    /// Nothing to show as an answer: why, and what the model wrote (for logs and "show the draft anyway").
    NotFound { reason: String, draft: String },
}

impl Answer {
    /// The text to show: the answer, or [`NOT_FOUND`].
    pub fn display(&self) -> &str {
        match self {
            Answer::Answered { text, .. } => text,
            Answer::NotFound { .. } => NOT_FOUND,
        }
    }

    /// The passage numbers cited (none when not found).
    pub fn citations(&self) -> &[usize] {
        match self {
            Answer::Answered { citations, .. } => citations,
            Answer::NotFound { .. } => &[],
        }
    }

    pub fn is_answered(&self) -> bool {
        matches!(self, Answer::Answered { .. })
    }
}

/// Phrases by which a model says the passages do not answer the question.
const NOT_FOUND_PHRASES: &[&str] = &[
    "not in your files",
    "not found in your files",
    "not in the passages",
    "not in the provided passages",
    "passages do not contain",
    "passages don't contain",
    "passages do not mention",
    "passages do not say",
    "do not contain the answer",
    "does not contain the answer",
    "no information",
    "cannot find",
    "can't find",
    "could not find",
    "couldn't find",
    "not mentioned",
    "not provided",
];

/// Checks the model's draft against the passages it was given (`passages[i]` is passage `[i + 1]`).
pub fn check(draft: &str, passages: &[&str]) -> Answer {
    let text = draft.trim();
    let not_found = |reason: String| Answer::NotFound {
        reason,
        draft: text.to_string(),
    };
    if text.is_empty() {
        return not_found("the model wrote nothing".into());
    }
    let lower = text.to_lowercase();
    if let Some(p) = NOT_FOUND_PHRASES.iter().find(|p| lower.contains(*p)) {
        return not_found(format!(
            "the model said the passages do not answer it (\"{p}\")"
        ));
    }
    let citations = parse_citations(text);
    if citations.is_empty() {
        return not_found("the answer cites no passage".into());
    }
    if let Some(bad) = citations.iter().find(|&&n| n == 0 || n > passages.len()) {
        return not_found(format!(
            "the answer cites passage [{bad}], but {} were given",
            passages.len()
        ));
    }
    let normalised: Vec<String> = passages.iter().map(|p| normalise(p)).collect();
    for sentence in sentences(text) {
        let quotes = quotes(sentence);
        if quotes.is_empty() {
            continue;
        }
        let own = parse_citations(sentence);
        let cited = if own.is_empty() { &citations } else { &own };
        for q in quotes {
            let q_norm = normalise(&q);
            if q_norm.is_empty() {
                continue;
            }
            if !cited.iter().any(|&n| normalised[n - 1].contains(&q_norm)) {
                let list: Vec<String> = cited.iter().map(|n| format!("[{n}]")).collect();
                return not_found(format!(
                    "the answer quotes \"{q}\", which is not in {}",
                    list.join(", ")
                ));
            }
        }
    }
    Answer::Answered {
        text: text.to_string(),
        citations,
    }
}

/// Passage numbers cited as `[n]`, `[n, m]` or `[n][m]`, each once, in order of first mention. Brackets
/// holding anything but numbers and separators (`[a]`, `[1a]`) are not citations.
pub fn parse_citations(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(']') else { break };
        let inner = &after[..close];
        let parts: Vec<&str> = inner
            .split([',', ';'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if !parts.is_empty() && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
            for p in parts {
                if let Ok(n) = p.parse::<usize>() {
                    if !out.contains(&n) {
                        out.push(n);
                    }
                }
            }
        }
        rest = &after[close + 1..];
    }
    out
}

/// Lower case, typographic quotes and dashes made plain, runs of whitespace one space, trimmed of spaces and
/// the punctuation a quote may start or end with.
fn normalise(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' | '\u{02BC}' => '\'',
            '\u{201C}' | '\u{201D}' => '"',
            '\u{2013}' | '\u{2014}' => '-',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect();
    let joined = mapped.split_whitespace().collect::<Vec<_>>().join(" ");
    joined
        .trim_matches(|c: char| c.is_whitespace() || matches!(c, '.' | ',' | ';' | ':' | '!' | '?'))
        .to_string()
}

/// Sentences of an answer: split after `.`, `!`, `?` or a newline followed by whitespace (citations after
/// the full stop, "… 2025. [1]", stay with their sentence).
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\n'
            || ((b == b'.' || b == b'!' || b == b'?')
                && bytes.get(i + 1).is_some_and(|n| n.is_ascii_whitespace()))
        {
            // Keep "[n]" that directly follows the end of the sentence in it.
            let mut end = i + 1;
            let tail = &text[end..];
            let trimmed = tail.trim_start_matches([' ', '\t']);
            if trimmed.starts_with('[') {
                if let Some(close) = trimmed.find(']') {
                    end += tail.len() - trimmed.len() + close + 1;
                }
            }
            out.push(&text[start..end]);
            start = end;
            i = end;
            continue;
        }
        i += 1;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out.into_iter().filter(|s| !s.trim().is_empty()).collect()
}

/// Quoted spans in a sentence: between straight double quotes or typographic ones.
fn quotes(sentence: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = sentence.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let close = match chars[i] {
            '"' => '"',
            '\u{201C}' => '\u{201D}',
            _ => {
                i += 1;
                continue;
            }
        };
        if let Some(len) = chars[i + 1..].iter().position(|&c| c == close) {
            let q: String = chars[i + 1..i + 1 + len].iter().collect();
            out.push(q);
            i += len + 2;
        } else {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSAGES: [&str; 3] = [
        "The lease of the flat at 12 Harbour Street ends on 31 March 2025. An early-termination fee of two months' rent is due when the tenant leaves before that date.",
        "Rent is 950 EUR a month, paid on the first working day of each month.",
        "The boiler was serviced in October; the next service is due in a year.",
    ];

    fn answered(a: &Answer) -> (&str, &[usize]) {
        match a {
            Answer::Answered { text, citations } => (text, citations),
            other => panic!("expected an answer, got {other:?}"),
        }
    }

    fn reason(a: &Answer) -> &str {
        match a {
            Answer::NotFound { reason, .. } => reason,
            other => panic!("expected not found, got {other:?}"),
        }
    }

    #[test]
    fn a_cited_answer_passes() {
        let a = check(
            " The lease ends on 31 March 2025 [1]. Rent is 950 EUR [2].\n",
            &PASSAGES,
        );
        let (text, cites) = answered(&a);
        assert_eq!(
            text,
            "The lease ends on 31 March 2025 [1]. Rent is 950 EUR [2]."
        );
        assert_eq!(cites, [1, 2]);
        assert_eq!(a.display(), text);
        // Grouped and repeated citations.
        let a = check("Both apply [1, 2]; see also [2][3].", &PASSAGES);
        assert_eq!(answered(&a).1, [1, 2, 3]);
    }

    #[test]
    fn citing_a_passage_that_was_not_given_is_rejected() {
        let a = check("The lease ends on 31 March 2025 [7].", &PASSAGES);
        assert!(
            reason(&a).contains("[7]") && reason(&a).contains('3'),
            "{a:?}"
        );
        assert_eq!(a.display(), NOT_FOUND);
        assert!(a.citations().is_empty());
        let a = check("The lease ends [0].", &PASSAGES);
        assert!(reason(&a).contains("[0]"));
    }

    #[test]
    fn a_quote_must_be_in_the_passage_it_cites() {
        // Exact quote, other case and spacing, typographic quotes: accepted.
        let a = check(
            "The contract says \u{201C}an early-termination FEE of two  months\u{2019} rent\u{201D} [1].",
            &PASSAGES,
        );
        answered(&a);
        // A quote that is in no passage.
        let a = check("The lease says \"ends on 30 April 2026\" [1].", &PASSAGES);
        assert!(reason(&a).contains("ends on 30 April 2026"), "{a:?}");
        // A real quote attributed to the wrong passage.
        let a = check(
            "It says \"950 EUR a month\" [1]. The lease ends in March [1].",
            &PASSAGES,
        );
        assert!(reason(&a).contains("950 EUR a month"), "{a:?}");
        // A quoting sentence without its own citation is checked against the answer's citations.
        let a = check(
            "\"Rent is 950 EUR a month.\" That is what it costs [2].",
            &PASSAGES,
        );
        answered(&a);
    }

    #[test]
    fn empty_uncited_and_not_found_answers_become_not_found() {
        assert!(reason(&check("", &PASSAGES)).contains("nothing"));
        assert!(reason(&check("  \n ", &PASSAGES)).contains("nothing"));
        assert!(
            reason(&check("The lease ends in March 2025.", &PASSAGES)).contains("cites no passage")
        );
        for phrasing in [
            "Not in your files.",
            "The passages do not contain the answer [1].",
            "I cannot find that in the passages.",
            "There is no information about parking [2].",
        ] {
            let a = check(phrasing, &PASSAGES);
            assert!(reason(&a).contains("do not answer"), "{phrasing}: {a:?}");
            assert_eq!(a.display(), NOT_FOUND);
        }
    }

    #[test]
    fn citations_parse_only_numbers_in_brackets() {
        assert_eq!(
            parse_citations("a [2] b [1,3] c [2] [x] [1a] [ 4 ]"),
            [2, 1, 3, 4]
        );
        assert!(parse_citations("no brackets, [] or [unclosed 3").is_empty());
    }

    #[test]
    fn sentences_keep_their_trailing_citation() {
        assert_eq!(
            sentences("It ends in 2025. [1] Rent is 950 EUR [2]."),
            ["It ends in 2025. [1]", " Rent is 950 EUR [2]."]
        );
    }

    #[test]
    fn the_prompt_numbers_passages_and_fits_the_budget() {
        // One token per word, for the test.
        let count = |t: &str| t.split_whitespace().count();
        let passages: Vec<Source> = (1..=5)
            .map(|i| Source {
                label: format!("file{i}.txt"),
                text: format!("passage {i}:\n{}", "word ".repeat(40)),
            })
            .collect();
        let p = build_prompt("When does the lease end?", &passages, 10_000, &count);
        assert_eq!(p.sources.len(), 5);
        assert_eq!((p.dropped, p.cut), (0, false));
        assert_eq!(p.messages[0].content, SYSTEM_PROMPT);
        let user = &p.messages[1].content;
        assert!(
            user.starts_with("Passages:\n[1] file1.txt: passage 1: word word"),
            "{user}"
        );
        assert!(user.contains("\n[5] file5.txt: passage 5:"));
        assert!(user.ends_with("\n\nQuestion: When does the lease end?"));
        // A tight budget: two whole passages, the third cut at a word, the rest dropped.
        let fixed =
            count(SYSTEM_PROMPT) + count("Passages:\n\nQuestion: When does the lease end?") + 32;
        let per = 2 + 42 + 1; // "[n] fileN.txt:" + the text + 1
        let p = build_prompt(
            "When does the lease end?",
            &passages,
            fixed + 2 * per + 30,
            &count,
        );
        assert_eq!(p.sources.len(), 3, "{:?}", p.sources);
        assert!(p.cut);
        assert_eq!(p.dropped, 2);
        assert!(p.sources[2].text.ends_with(" …"));
        assert!(count(&p.sources[2].text) <= 30);
        // No room at all: nothing given.
        let p = build_prompt("q", &passages, 10, &count);
        assert!(p.sources.is_empty());
        assert_eq!(p.dropped, 5);
    }
}
