//! "Bring the index up to date with the disk": for every root, scan, drop what vanished, and run changed
//! files through extract → chunk → embed → store as a two-stage pipeline (a reader thread extracts and
//! chunks while the caller's thread embeds and writes), one database transaction per batch.
//!
//! Unchanged files (same size and mtime, or same content hash) are never re-embedded. A file's row is only
//! updated in the transaction that stores its chunks, so a crash or cancel resumes where it stopped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use serde::Serialize;

use crate::chunk::{Chunk, Chunker};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::extract::{self, ExtractError};
use crate::scan::{self, ScannedFile};
use crate::store::{DocumentWrite, FileRow, Folder};

/// What the indexer is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Scanning,
    Indexing,
    Done,
}

/// A progress event; the CLI draws a bar from it and the app forwards it to the UI.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub folder: PathBuf,
    pub phase: Phase,
    /// Files looked at so far in this run (changed ones only).
    pub files_done: u64,
    /// Changed files to look at in this run.
    pub files_total: u64,
    /// Files skipped or failed so far in this run.
    pub failed: u64,
    pub chunks_done: u64,
    pub current: Option<PathBuf>,
}

/// Summary of an indexing run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexReport {
    pub files_seen: u64,
    pub files_unchanged: u64,
    pub files_indexed: u64,
    pub files_removed: u64,
    pub files_skipped: u64,
    pub files_failed: u64,
    pub chunks_embedded: u64,
    pub seconds: f64,
    /// Files that were skipped or failed in this run, with reasons.
    pub problems: Vec<(PathBuf, String)>,
}

enum Prepared {
    Document {
        scanned: ScannedFile,
        hash: String,
        chunks: Vec<Chunk>,
    },
    Unchanged {
        scanned: ScannedFile,
        file_id: i64,
    },
    Problem {
        scanned: ScannedFile,
        status: &'static str,
        reason: String,
    },
}

impl Engine {
    /// Indexes every root until caught up. `cancel` stops it after the current batch (pause); the next run
    /// resumes. Progress events go to `progress`.
    pub fn index(
        &self,
        progress: &mut dyn FnMut(&Progress),
        cancel: &AtomicBool,
    ) -> Result<IndexReport> {
        let folders = self.writer_store(|s| s.folders())?;
        self.index_roots(&folders, progress, cancel)
    }

    /// Indexes the roots that contain any of `paths` (used by the watcher).
    pub fn index_containing(
        &self,
        paths: &[PathBuf],
        progress: &mut dyn FnMut(&Progress),
        cancel: &AtomicBool,
    ) -> Result<IndexReport> {
        let folders: Vec<Folder> = self
            .writer_store(|s| s.folders())?
            .into_iter()
            .filter(|f| paths.iter().any(|p| p.starts_with(&f.path)))
            .collect();
        self.index_roots(&folders, progress, cancel)
    }

    fn writer_store<T>(&self, f: impl FnOnce(&mut crate::store::Store) -> Result<T>) -> Result<T> {
        let mut guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    fn index_roots(
        &self,
        folders: &[Folder],
        progress: &mut dyn FnMut(&Progress),
        cancel: &AtomicBool,
    ) -> Result<IndexReport> {
        struct Flag<'a>(&'a AtomicBool);
        impl Drop for Flag<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Relaxed);
            }
        }
        self.indexing.store(true, Ordering::Relaxed);
        let _flag = Flag(&self.indexing);
        let started = Instant::now();
        let mut report = IndexReport::default();
        let mut changed = false;
        for folder in folders {
            if cancel.load(Ordering::Relaxed) {
                return Err(Error::Cancelled);
            }
            changed |= self.index_root(folder, progress, cancel, &mut report)?;
        }
        if changed {
            let compact = self
                .index
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .needs_compaction();
            if compact {
                self.rebuild_index()?;
            } else {
                self.save_index()?;
            }
        }
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Returns whether anything in the index changed.
    fn index_root(
        &self,
        folder: &Folder,
        progress: &mut dyn FnMut(&Progress),
        cancel: &AtomicBool,
        report: &mut IndexReport,
    ) -> Result<bool> {
        let mut event = Progress {
            folder: folder.path.clone(),
            phase: Phase::Scanning,
            files_done: 0,
            files_total: 0,
            failed: 0,
            chunks_done: 0,
            current: None,
        };
        progress(&event);
        let model_key = self.model_key();
        let mut known: HashMap<PathBuf, FileRow> =
            self.writer_store(|s| s.files_in_folder(folder.id))?;
        let mut todo: Vec<(ScannedFile, Option<FileRow>)> = Vec::new();
        let mut problems: Vec<(ScannedFile, String)> = Vec::new();
        let scanned = if folder.path.exists() {
            scan::scan(&folder.path, &self.config.settings.excludes)?
        } else {
            tracing::warn!(folder = %folder.path.display(), "folder is missing (unmounted or moved); keeping its index");
            event.phase = Phase::Done;
            progress(&event);
            return Ok(false);
        };
        for item in scanned {
            match item {
                Ok(file) => {
                    report.files_seen += 1;
                    let row = known.remove(&file.path);
                    let unchanged = row.as_ref().is_some_and(|r| {
                        r.size == file.size
                            && r.mtime_ns == file.mtime_ns
                            && (r.status != "indexed"
                                || r.model.as_deref() == Some(model_key.as_str()))
                    });
                    if unchanged {
                        report.files_unchanged += 1;
                    } else {
                        todo.push((file, row));
                    }
                }
                Err((path, reason)) => {
                    known.remove(&path);
                    if path != folder.path {
                        problems.push((
                            ScannedFile {
                                path,
                                size: 0,
                                mtime_ns: 0,
                            },
                            reason,
                        ));
                    }
                }
            }
        }
        let mut changed = false;
        // Files that vanished from disk.
        if !known.is_empty() {
            let ids: Vec<i64> = known.values().map(|r| r.id).collect();
            let removed = self.writer_store(|s| s.delete_files(&ids))?;
            self.index
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&removed);
            report.files_removed += ids.len() as u64;
            changed = true;
        }
        for (file, reason) in problems {
            self.writer_store(|s| {
                s.record_problem(folder.id, &file.path, 0, 0, "failed", &reason)
            })?;
            report.files_failed += 1;
            report.problems.push((file.path, reason));
        }
        event.phase = Phase::Indexing;
        event.files_total = todo.len() as u64;
        progress(&event);
        if todo.is_empty() {
            event.phase = Phase::Done;
            progress(&event);
            return Ok(changed);
        }
        changed = true;

        let tokenizer = self.with_doc_embedder(|e| Ok(e.tokenizer().clone()))?;
        let chunker = Chunker::new(&tokenizer, self.config.chunk)?;
        let extract_options = self.config.extract;
        let (tx, rx) = mpsc::sync_channel::<Prepared>(64);
        let cancel_ref = cancel;
        std::thread::scope(|scope| -> Result<()> {
            scope.spawn(move || {
                for (scanned, row) in todo {
                    if cancel_ref.load(Ordering::Relaxed) {
                        break;
                    }
                    let prepared = prepare(scanned, row, &chunker, &extract_options);
                    if tx.send(prepared).is_err() {
                        break;
                    }
                }
            });
            let mut batch: Vec<(ScannedFile, String, Vec<Chunk>)> = Vec::new();
            let mut batch_chunks = 0usize;
            let mut rx_iter = rx.iter().peekable();
            while let Some(item) = rx_iter.next() {
                if cancel.load(Ordering::Relaxed) {
                    break;
                }
                event.files_done += 1;
                match item {
                    Prepared::Document {
                        scanned,
                        hash,
                        chunks,
                    } => {
                        event.current = Some(scanned.path.clone());
                        batch_chunks += chunks.len();
                        batch.push((scanned, hash, chunks));
                    }
                    Prepared::Unchanged { scanned, file_id } => {
                        self.writer_store(|s| {
                            s.touch_file(file_id, scanned.size, scanned.mtime_ns)
                        })?;
                        report.files_unchanged += 1;
                    }
                    Prepared::Problem {
                        scanned,
                        status,
                        reason,
                    } => {
                        let removed = self.writer_store(|s| {
                            s.record_problem(
                                folder.id,
                                &scanned.path,
                                scanned.size,
                                scanned.mtime_ns,
                                status,
                                &reason,
                            )
                        })?;
                        self.index
                            .write()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&removed);
                        if status == "skipped" {
                            report.files_skipped += 1;
                        } else {
                            report.files_failed += 1;
                        }
                        event.failed += 1;
                        report.problems.push((scanned.path, reason));
                    }
                }
                let flush = batch_chunks >= self.config.batch_chunks || rx_iter.peek().is_none();
                if flush && !batch.is_empty() {
                    let n = self.write_batch(folder.id, std::mem::take(&mut batch), &model_key)?;
                    report.files_indexed += n.0;
                    report.chunks_embedded += n.1;
                    event.chunks_done += n.1;
                    batch_chunks = 0;
                }
                progress(&event);
            }
            if !batch.is_empty() && !cancel.load(Ordering::Relaxed) {
                let n = self.write_batch(folder.id, std::mem::take(&mut batch), &model_key)?;
                report.files_indexed += n.0;
                report.chunks_embedded += n.1;
            }
            drop(rx_iter);
            Ok(())
        })?;
        if cancel.load(Ordering::Relaxed) {
            self.save_index()?;
            return Err(Error::Cancelled);
        }
        event.phase = Phase::Done;
        event.current = None;
        progress(&event);
        Ok(changed)
    }

    /// Embeds and stores a batch of documents in one transaction; returns (files, chunks) written.
    fn write_batch(
        &self,
        folder_id: i64,
        batch: Vec<(ScannedFile, String, Vec<Chunk>)>,
        model_key: &str,
    ) -> Result<(u64, u64)> {
        let texts: Vec<&str> = batch
            .iter()
            .flat_map(|(_, _, chunks)| chunks.iter().map(|c| c.text.as_str()))
            .collect();
        let embeddings = self.with_doc_embedder(|e| e.embed_documents(&texts))?;
        let n_chunks = embeddings.len() as u64;
        self.embedded_total.fetch_add(n_chunks, Ordering::Relaxed);
        let mut vectors = embeddings.into_iter().map(|e| e.vector);
        let docs: Vec<DocumentWrite> = batch
            .into_iter()
            .map(|(scanned, hash, chunks)| DocumentWrite {
                folder_id,
                vectors: vectors.by_ref().take(chunks.len()).collect(),
                path: scanned.path,
                size: scanned.size,
                mtime_ns: scanned.mtime_ns,
                hash,
                chunks,
            })
            .collect();
        let (removed, added) = self.writer_store(|s| s.write_documents(&docs, model_key))?;
        let items: Vec<(i64, Vec<f32>)> = docs
            .iter()
            .zip(&added)
            .flat_map(|(doc, ids)| ids.iter().copied().zip(doc.vectors.iter().cloned()))
            .collect();
        let mut idx = self.index.write().unwrap_or_else(|e| e.into_inner());
        idx.remove(&removed);
        idx.insert(&items);
        Ok((docs.len() as u64, n_chunks))
    }
}

fn prepare(
    scanned: ScannedFile,
    row: Option<FileRow>,
    chunker: &Chunker,
    options: &extract::ExtractOptions,
) -> Prepared {
    match extract::extract(&scanned.path, options) {
        Ok(doc) => {
            let hash = blake3::hash(doc.text.as_bytes()).to_hex().to_string();
            if let Some(r) = row
                .as_ref()
                .filter(|r| r.status == "indexed" && r.hash.as_deref() == Some(hash.as_str()))
            {
                return Prepared::Unchanged {
                    scanned,
                    file_id: r.id,
                };
            }
            let chunks = chunker.chunk(&doc.text, doc.kind);
            if chunks.is_empty() {
                return Prepared::Problem {
                    scanned,
                    status: "skipped",
                    reason: "no text".into(),
                };
            }
            Prepared::Document {
                scanned,
                hash,
                chunks,
            }
        }
        Err(ExtractError::Skipped(reason)) => Prepared::Problem {
            scanned,
            status: "skipped",
            reason,
        },
        Err(ExtractError::Failed(reason)) => Prepared::Problem {
            scanned,
            status: "failed",
            reason,
        },
    }
}
