//! The engine end to end on real files, the real model, a real SQLite file and a real HNSW file.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use sift_core::{Engine, EngineConfig, Filter, Mode, SearchOptions};

const FILES: &[(&str, &str)] = &[
    (
        "legal/contract.txt",
        "Either party may end this agreement before its expiry by giving ninety days written notice. \
         Upon such early termination, fees paid in advance are refunded pro rata.",
    ),
    (
        "kitchen/recipe.md",
        "# Weeknight pasta\n\nBoil salted water and cook the spaghetti for nine minutes. \
         Toss with tomato sauce, garlic and fresh basil.",
    ),
    (
        "dev/bugs.md",
        "The HNSW graph lost recall after many deletions. We fixed the bug by filtering tombstones \
         during search and compacting the graph when too many nodes are dead.",
    ),
    (
        "garden/notes.txt",
        "Tomatoes need six hours of sun. Water the seedlings every morning and add compost in spring.",
    ),
    (
        "travel/japan.txt",
        "Kyoto in autumn: the maple leaves at Tofuku-ji turn red in November. Take the early train to avoid crowds.",
    ),
];

fn write_fixture(root: &Path) {
    for (rel, text) in FILES {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn open(data: &Path) -> Engine {
    let mut config = EngineConfig::new(data).unwrap();
    config.settings.threads = 2;
    Engine::open(config).unwrap()
}

fn index(engine: &Engine) -> sift_core::IndexReport {
    let mut events = 0;
    let report = engine
        .index(&mut |_| events += 1, &AtomicBool::new(false))
        .unwrap();
    assert!(events > 0, "progress events are emitted");
    report
}

fn top(engine: &Engine, query: &str) -> Option<PathBuf> {
    engine
        .search(query, &SearchOptions::default())
        .unwrap()
        .results
        .first()
        .map(|h| h.path.clone())
}

fn name(p: &Option<PathBuf>) -> String {
    p.as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn finds_by_meaning_updates_and_survives_restart() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let root = files.path().canonicalize().unwrap();
    write_fixture(&root);
    std::fs::write(
        root.join("photo.png"),
        [0x89, b'P', b'N', b'G', 0, 0, 0, 13],
    )
    .unwrap();
    std::fs::write(root.join("data.bin2"), [0u8, 1, 2, 3, 0, 0, 7, 9, 0]).unwrap();

    let engine = open(data.path());
    engine.add_folder(&root).unwrap();
    let report = index(&engine);
    assert_eq!(report.files_indexed, 5);
    assert_eq!(report.files_skipped, 2, "{:?}", report.problems);
    assert!(engine
        .problem_files(None)
        .unwrap()
        .iter()
        .any(|p| p.path.ends_with("data.bin2") && p.reason.contains("binary")));

    // By meaning: no query word appears in the answer.
    assert_eq!(
        name(&top(&engine, "how can I cancel the deal ahead of schedule")),
        "contract.txt"
    );
    assert_eq!(name(&top(&engine, "italian dinner idea")), "recipe.md");
    assert_eq!(
        name(&top(&engine, "vacation in asia fall foliage")),
        "japan.txt"
    );
    // Best passage and highlighted span.
    let r = engine
        .search("tombstones", &SearchOptions::default())
        .unwrap();
    let hit = &r.results[0];
    assert!(hit.path.ends_with("bugs.md"));
    let (s, e) = hit.passage.highlights[0];
    assert_eq!(&hit.passage.text[s..e], "tombstones");
    assert_eq!(hit.passage.line, 1);

    // Exact phrase: only files that contain it, even when another file is semantically close.
    let r = engine
        .search("\"tomato sauce\"", &SearchOptions::default())
        .unwrap();
    assert_eq!(r.results.len(), 1);
    assert!(r.results[0].path.ends_with("recipe.md"));
    assert!(engine
        .search("\"sauce tomato\"", &SearchOptions::default())
        .unwrap()
        .results
        .is_empty());

    // Filters by type and folder.
    let md = SearchOptions {
        filter: Filter {
            kinds: vec!["md".into()],
            ..Filter::default()
        },
        ..SearchOptions::default()
    };
    // Without the filter a .txt file comes first; with it, only Markdown files, and there are some.
    assert_eq!(name(&top(&engine, "tomatoes")), "notes.txt");
    let filtered = engine.search("tomatoes", &md).unwrap().results;
    assert!(!filtered.is_empty(), "the recipe mentions tomato sauce");
    assert!(filtered.iter().all(|h| h.path.extension().unwrap() == "md"));
    let filtered = engine.search("an evening meal", &md).unwrap().results;
    assert_eq!(name(&filtered.first().map(|h| h.path.clone())), "recipe.md");
    let garden = SearchOptions {
        filter: Filter {
            folders: vec![root.join("garden")],
            ..Filter::default()
        },
        ..SearchOptions::default()
    };
    let r = engine.search("growing vegetables", &garden).unwrap();
    assert_eq!(r.results.len(), 1);
    assert!(r.results[0].path.ends_with("garden/notes.txt"));
    // Nothing in that folder is about contracts: unrelated passages are not padded in.
    assert!(engine
        .search("cancel the deal", &garden)
        .unwrap()
        .results
        .is_empty());

    // A filter's allowed chunks are kept between searches with the same filter, and follow new commits:
    // a file added to the folder is found by meaning (the vector side uses the kept set) once indexed.
    let garden_by_meaning = SearchOptions {
        mode: Mode::Vector,
        ..garden.clone()
    };
    let herbs_found = || {
        engine
            .search("herbs on a sunny windowsill", &garden_by_meaning)
            .unwrap()
            .results
            .iter()
            .any(|h| h.path.ends_with("herbs.txt"))
    };
    assert!(!herbs_found());
    let herbs = root.join("garden/herbs.txt");
    std::fs::write(
        &herbs,
        "Basil and parsley thrive in small pots by a bright kitchen window.",
    )
    .unwrap();
    index(&engine);
    let r = engine
        .search("herbs on a sunny windowsill", &garden_by_meaning)
        .unwrap();
    assert_eq!(
        name(&r.results.first().map(|h| h.path.clone())),
        "herbs.txt",
        "{r:?}"
    );
    std::fs::remove_file(&herbs).unwrap();
    index(&engine);
    assert!(!herbs_found());

    // Unchanged files are not re-embedded.
    let before = engine.embedded_chunks();
    let again = index(&engine);
    assert_eq!(again.files_indexed, 0);
    assert_eq!(again.chunks_embedded, 0);
    assert_eq!(engine.embedded_chunks(), before);
    // Touched but identical content: hash says unchanged, still no embedding.
    let contract = root.join("legal/contract.txt");
    let text = std::fs::read(&contract).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&contract, &text).unwrap();
    let touched = index(&engine);
    assert_eq!(touched.chunks_embedded, 0, "{touched:?}");

    // Edit and delete.
    std::fs::write(
        root.join("garden/notes.txt"),
        "Quarterly revenue grew twelve percent; the board approved the budget.",
    )
    .unwrap();
    std::fs::remove_file(root.join("travel/japan.txt")).unwrap();
    let changed = index(&engine);
    assert_eq!(changed.files_indexed, 1);
    assert_eq!(changed.files_removed, 1);
    assert!(changed.chunks_embedded >= 1);
    let r = engine
        .search(
            "Kyoto maple leaves",
            &SearchOptions {
                limit: 10,
                ..SearchOptions::default()
            },
        )
        .unwrap();
    assert!(
        r.results.iter().all(|h| !h.path.ends_with("japan.txt")),
        "deleted file must not come back"
    );
    assert!(engine
        .search("\"six hours of sun\"", &SearchOptions::default())
        .unwrap()
        .results
        .is_empty());
    assert_eq!(
        name(&top(&engine, "company earnings and finances")),
        "notes.txt"
    );
    let status = engine.status().unwrap();
    assert_eq!(status.index_vectors as u64, status.counts.chunks);
    assert!(status.index_dead >= 2);
    drop(engine);

    // Restart: the saved HNSW file is loaded, not rebuilt, and answers the same.
    let engine = open(data.path());
    let status = engine.status().unwrap();
    assert_eq!(status.index_source, sift_core::IndexSource::Loaded);
    assert_eq!(status.provider, "CPU");
    assert_eq!(name(&top(&engine, "italian dinner idea")), "recipe.md");
    assert!(engine
        .is_indexed_file(&root.join("kitchen/recipe.md"))
        .unwrap());
    assert!(!engine.is_indexed_file(Path::new("/etc/passwd")).unwrap());

    // A missing graph file is rebuilt from SQLite.
    drop(engine);
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("hnsw-")
        {
            std::fs::remove_dir_all(&p).unwrap();
        }
    }
    let engine = open(data.path());
    assert_eq!(
        engine.status().unwrap().index_source,
        sift_core::IndexSource::Rebuilt
    );
    assert_eq!(name(&top(&engine, "italian dinner idea")), "recipe.md");

    // Removing the folder removes everything.
    engine.remove_folder(&root).unwrap();
    assert!(engine
        .search("pasta", &SearchOptions::default())
        .unwrap()
        .results
        .is_empty());
    assert_eq!(engine.status().unwrap().counts.chunks, 0);
}

#[test]
fn any_user_text_is_a_safe_query() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_fixture(files.path());
    let engine = open(data.path());
    engine.add_folder(files.path()).unwrap();
    index(&engine);
    for q in [
        "",
        " ",
        "\"",
        "\"\"",
        "\"unterminated phrase",
        "*",
        "NEAR(",
        "NEAR(a b, 3)",
        "-",
        "-pasta",
        "a OR",
        "AND",
        "col:value",
        "^start",
        "(((",
        "'; DROP TABLE chunks; --",
        "ünïcödé 漢字 🙂",
        "\u{0}",
        "{}[]",
        "pasta*",
    ] {
        for mode in [Mode::Hybrid, Mode::Keyword, Mode::Vector] {
            let r = engine.search(
                q,
                &SearchOptions {
                    mode,
                    ..SearchOptions::default()
                },
            );
            assert!(r.is_ok(), "query {q:?} in {mode:?}: {r:?}");
        }
    }
    assert!(engine
        .search("", &SearchOptions::default())
        .unwrap()
        .results
        .is_empty());
    // Operator-looking words are searched as words: without quoting, FTS5 would read `col:` as a column
    // filter, `NEAR(` as an operator and `-` as a negation, and fail or find nothing.
    std::fs::write(
        files.path().join("syntax.txt"),
        "Cheat sheet: col:value pairs, NEAR(a b, 3) groups and -pasta flags.",
    )
    .unwrap();
    index(&engine);
    for q in ["col:value", "NEAR(a b, 3)", "-pasta flags"] {
        let r = engine
            .search(
                q,
                &SearchOptions {
                    mode: Mode::Keyword,
                    ..SearchOptions::default()
                },
            )
            .unwrap();
        assert!(
            r.results
                .first()
                .is_some_and(|h| h.path.ends_with("syntax.txt")),
            "keyword query {q:?} must find the file that contains it: {:?}",
            r.results
        );
    }
}

#[test]
fn nested_and_single_file_roots() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let root = files.path().canonicalize().unwrap();
    write_fixture(&root);
    let engine = open(data.path());
    // A single file as a root, then its parent folder absorbs it.
    engine.add_folder(&root.join("kitchen/recipe.md")).unwrap();
    assert_eq!(index(&engine).files_indexed, 1);
    engine.add_folder(&root).unwrap();
    let r = index(&engine);
    assert_eq!(r.files_indexed, 4, "{r:?}");
    assert_eq!(engine.folders().unwrap().len(), 1);
    // Adding a folder inside an indexed one changes nothing.
    engine.add_folder(&root.join("dev")).unwrap();
    assert_eq!(engine.folders().unwrap().len(), 1);
    assert!(engine.add_folder(&root.join("missing")).is_err());
}

/// Highlights mark exactly what FTS5's Porter stemmer matched: word forms it conflates ("contracts",
/// "contracting", "termination" for "contract terminate"), never look-alikes it does not ("contrary").
#[test]
fn highlights_follow_the_stemmer_keyword_search_uses() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(
        root.path().join("memo.txt"),
        "Contrary to rumour, the contracts were signed and contracting continues. \
         Termination letters went out on Monday.",
    )
    .unwrap();
    let engine = open(data.path());
    engine.add_folder(root.path()).unwrap();
    index(&engine);
    let r = engine
        .search("contract terminate", &SearchOptions::default())
        .unwrap();
    let hit = &r.results[0];
    let marked: Vec<&str> = hit
        .passage
        .highlights
        .iter()
        .map(|&(s, e)| &hit.passage.text[s..e])
        .collect();
    assert_eq!(marked, vec!["contracts", "contracting", "Termination"]);
}

/// A query about nothing in the folder is reported as such; a query a file answers is a strong match, by
/// meaning or by containing every word.
#[test]
fn says_when_nothing_in_the_folder_is_related() {
    use sift_core::{Confidence, Strength};
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_fixture(root.path());
    // Shares a word with "cheap flights" ("flight") without being about flights.
    std::fs::write(
        root.path().join("meeting.txt"),
        "Meeting notes: topics by others that are still in flight will be revisited next sprint. \
         Action items assigned.",
    )
    .unwrap();
    let engine = open(data.path());
    engine.add_folder(root.path()).unwrap();
    index(&engine);
    let search = |q: &str| engine.search(q, &SearchOptions::default()).unwrap();

    for q in ["cheap flights", "what is the capital of Australia"] {
        let r = search(q);
        assert_eq!(r.confidence, Confidence::None, "{q}: {:?}", r.results);
        // Whatever is listed (the nearest passages above the noise cut, if any) is not called strong.
        assert!(r.results.iter().all(|h| h.strength != Strength::Strong));
    }
    // The meeting note shares "flight" with the query: it is listed, and not as a match.
    let r = search("cheap flights");
    assert!(
        r.results[0].path.ends_with("meeting.txt"),
        "{:?}",
        r.results
    );
    assert_ne!(r.results[0].strength, Strength::Strong);
    for (q, file) in [
        (
            "fixing lost recall in the vector graph after removals",
            "bugs.md",
        ),
        (
            "ending the agreement early and getting fees back",
            "contract.txt",
        ),
        // Every word present: strong whatever the vector says.
        ("tombstones", "bugs.md"),
    ] {
        let r = search(q);
        assert_eq!(r.confidence, Confidence::Strong, "{q}");
        assert!(r.results[0].path.ends_with(file), "{q}");
        assert_eq!(r.results[0].strength, Strength::Strong, "{q}");
    }
}

/// Chinese and Japanese are written without spaces: keyword search finds a word inside a run of characters
/// (合同 in 本合同的提前终止条款, 東京 in 東京都に住んでいます) and marks exactly its characters.
#[test]
fn keyword_search_finds_cjk_words_inside_sentences() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(
        root.path().join("contract-zh.txt"),
        "本合同的提前终止条款需要提前九十天书面通知。",
    )
    .unwrap();
    std::fs::write(
        root.path().join("address-ja.txt"),
        "私は東京都に住んでいます。",
    )
    .unwrap();
    std::fs::write(
        root.path().join("notes.txt"),
        "Contracts and notes, in English.",
    )
    .unwrap();
    let engine = open(data.path());
    engine.add_folder(root.path()).unwrap();
    index(&engine);
    for (query, file, expected) in [
        ("合同", "contract-zh.txt", vec!["合同"]),
        ("提前终止", "contract-zh.txt", vec!["提前终止", "提前"]),
        ("東京", "address-ja.txt", vec!["東京"]),
        ("京", "address-ja.txt", vec!["京"]),
    ] {
        let r = engine
            .search(
                query,
                &SearchOptions {
                    mode: Mode::Keyword,
                    ..SearchOptions::default()
                },
            )
            .unwrap();
        assert_eq!(r.results.len(), 1, "{query}: {:?}", r.results);
        let hit = &r.results[0];
        assert!(hit.path.ends_with(file), "{query}: {:?}", hit.path);
        let marked: Vec<&str> = hit
            .passage
            .highlights
            .iter()
            .map(|&(s, e)| &hit.passage.text[s..e])
            .collect();
        assert_eq!(marked, expected, "{query}");
    }
}
