//! Without the PDFium library, PDF files are skipped with a reason that says what to do and every other file
//! is indexed as before. (Own test binary: PDFium is bound once per process, and this test must run before
//! anything binds it.)

use std::path::Path;
use std::sync::atomic::AtomicBool;

use sift_core::{Engine, EngineConfig, FileStatus, Mode, SearchOptions};

#[test]
fn a_missing_pdf_reader_skips_pdfs_with_a_reason() {
    std::env::set_var("PDFIUM_DYLIB_PATH", "/nonexistent/libpdfium.so");
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/formats/field-notes.pdf");
    std::fs::copy(&fixture, files.path().join("field-notes.pdf")).unwrap();
    std::fs::write(
        files.path().join("note.txt"),
        "The swallows came back to the barn in April.",
    )
    .unwrap();

    let mut config = EngineConfig::new(data.path()).unwrap();
    config.settings.threads = 2;
    let engine = Engine::open(config).unwrap();
    engine.add_folder(files.path()).unwrap();
    let report = engine.index(&mut |_| {}, &AtomicBool::new(false)).unwrap();
    assert_eq!(report.files_indexed, 1, "{report:?}");

    let problems = engine.problem_files(None).unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].status, FileStatus::Skipped);
    assert_eq!(
        problems[0].reason,
        "PDF reader not installed (reinstall Sift)"
    );
    let r = engine
        .search(
            "swallows",
            &SearchOptions {
                mode: Mode::Keyword,
                ..SearchOptions::default()
            },
        )
        .unwrap();
    assert_eq!(r.results.len(), 1);
}
