//! Passage-level precision: one sentence about the query, buried in a page about something else, is found
//! by meaning and shown as the answer (real model, real files, real index).

use std::path::Path;
use std::sync::atomic::AtomicBool;

use sift_core::{Engine, EngineConfig, SearchOptions};

const RECIPE: &str =
    "Brown the beef in a heavy pot, add carrots, onions and a splash of red wine, cover, \
                      and let it bubble gently for three hours until the meat falls apart.";

const QUERY: &str = "how to cook a slow braised meat dish";

/// Meeting boilerplate: nothing about food.
const BOILERPLATE: &[&str] = &[
    "The weekly sync started at ten with the usual round of updates from each team.",
    "Action items from the previous meeting were reviewed and most of them are still open.",
    "Marketing asked for the quarterly roadmap slides to be shared before Friday.",
    "Finance noted that expense reports must be submitted through the new portal from next month.",
    "Attendance was good, although two people joined late because of the train strike.",
    "The next meeting will be held in the large conference room on the ground floor.",
    "Someone raised the question of the shared drive permissions, which will be handled by IT.",
    "There was a short discussion about the holiday schedule and who covers the support rota.",
    "Minutes will be circulated by the project office and stored in the usual folder.",
    "The hiring pipeline for the two open positions is moving slowly but steadily.",
    "Please remember to update your status in the tracker before the end of each day.",
    "The legal review of the vendor agreement is expected to finish next week.",
    "A reminder that badges must be worn visibly at all times in the building.",
];

/// `n` boilerplate sentences, starting at `seed`, joined by `sep`.
fn filler(n: usize, seed: usize, sep: &str) -> String {
    (0..n)
        .map(|i| BOILERPLATE[(seed + i * 7) % BOILERPLATE.len()])
        .collect::<Vec<_>>()
        .join(sep)
}

/// A folder of look-alike meeting notes and notes on other topics, plus `name` holding `body`.
fn folder(root: &Path, name: &str, body: &str) {
    for i in 0..6 {
        std::fs::write(
            root.join(format!("meeting-{i}.txt")),
            filler(24, i * 3, " "),
        )
        .unwrap();
    }
    for (file, text) in [
        (
            "car.md",
            "# Car\n\nThe winter tyres go on in November; the garage also checks the brake pads and the battery.",
        ),
        (
            "travel.txt",
            "Booked the train to Lyon for the conference; the hotel is near the station.",
        ),
        (
            "garden.txt",
            "Pruned the roses in late winter and mulched the beds with compost.",
        ),
    ] {
        std::fs::write(root.join(file), text).unwrap();
    }
    std::fs::write(root.join(name), body).unwrap();
}

fn open(data: &Path, windows: bool) -> Engine {
    let mut config = EngineConfig::new(data).unwrap();
    config.settings.threads = 2;
    config.search.windows = windows;
    Engine::open(config).unwrap()
}

/// Whitespace-separated words: more than 200 model tokens means well over 150 words of this English.
fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

#[test]
fn a_sentence_buried_in_unrelated_text_is_found_and_shown() {
    let before = filler(14, 1, " ");
    let after = filler(14, 5, " ");
    assert!(words(&before) >= 170 && words(&after) >= 170);
    let long_line = format!("{} {RECIPE} {}", filler(120, 2, " "), filler(120, 9, " "));
    assert!(!long_line.contains('\n'));
    let cases = [
        ("minutes.txt", format!("{before} {RECIPE} {after}\n")),
        (
            "minutes.md",
            format!("# Weekly sync\n\n{before}\n\n{RECIPE} {after}\n"),
        ),
        ("log.txt", long_line),
        (
            "minutes.html",
            format!(
                "<html><body><div class=\"notes\"><p>{before}</p><p><b>{RECIPE}</b></p><p>{after}</p></div></body></html>"
            ),
        ),
    ];
    for (name, body) in cases {
        let root = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        folder(root.path(), name, &body);
        let engine = open(data.path(), true);
        engine.add_folder(root.path()).unwrap();
        engine.index(&mut |_| {}, &AtomicBool::new(false)).unwrap();
        let r = engine.search(QUERY, &SearchOptions::default()).unwrap();
        let top = &r.results[0];
        assert!(
            top.path.ends_with(name),
            "{name}: {:?}",
            r.results.iter().map(|h| &h.path).collect::<Vec<_>>()
        );
        // The passage shown has the recipe marked as the sentences that answer — or is the recipe alone (a
        // passage of one window's length has no windows: all of it answers).
        let answer = match top.passage.answer {
            Some((a, b)) => &top.passage.text[a..b],
            // In the HTML the recipe is a paragraph of its own, which the chunker may keep alone.
            None if name.ends_with(".html") => top.passage.text.as_str(),
            None => panic!("{name}: no answer in {:?}", top.passage.text),
        };
        assert!(answer.contains("bubble gently"), "{name}: {answer:?}");
        assert!(answer.len() < RECIPE.len() * 3, "{name}: {answer:?}");
        drop(engine);

        // The same index searched by passage vectors alone gives no sentence-level answer.
        let whole = open(data.path(), false);
        let r = whole.search(QUERY, &SearchOptions::default()).unwrap();
        assert!(r.results.iter().all(|h| h.passage.answer.is_none()));
    }
}
