//! "Bring the index up to date with the disk": for a root (or only the paths the watcher reported), scan,
//! decide per file what must happen, run changed files through extract → chunk → embed → store, and give
//! chunks that lack a vector of the active model one. The [`Indexer`] is driven by the engine; it writes only
//! through the [`Catalog`].
//!
//! Pipeline: a reader thread extracts and chunks changed files while the calling thread embeds and commits
//! bounded groups (about `batch_tokens` model tokens to embed each — chunks and their windows, sized by the
//! model's work rather than by count — a large file split over several groups), checking for cancellation
//! between groups and the embedder between its batches — so memory and pause latency do not depend on file
//! size. Text reaches the model tokenized once: the chunker's token ids travel with each chunk
//! ([`Chunk::tokens`]).
//!
//! Not done (docs/BENCHMARKS.md): sizing the model's own batches by tokens (measured: short windows ran
//! slower in larger batches than in batches of 8), and storing on a separate thread while the next group
//! embeds (on two cores it would compete with the model's two spinning threads; see the profile there).
//!
//! Decisions per file (the unchanged checks):
//! - same size and mtime as recorded, chunked by the same chunker → nothing to do (vectors of the active
//!   model are filled in separately, by what is actually missing);
//! - skipped or failed with the same size and mtime → quarantined, not retried until the file changes;
//! - same content hash → the row is touched, nothing is re-embedded;
//! - a new path whose content hash equals a file that vanished in the same pass → a rename: the row moves
//!   with its chunks and vectors;
//! - anything else is (re-)chunked and embedded; a file whose embedding or storing fails is recorded as
//!   failed with the reason and the pass goes on.
//!
//! Roots that are missing, empty where they had files, or on another device with none of their files are
//! **offline**: their index is kept and searchable. Unreadable subfolders keep their files.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::chunk::{Chunk, ChunkOptions, Chunker, Unit};
use crate::error::{Error, Result};
use crate::extract::{self, ExtractError, ExtractOptions};
use crate::fault;
use crate::scan::{self, ScannedFile};
use crate::store::{DocPart, FileRow, FileStatus, Folder};
use crate::worker::{Extractor, WorkerCommand};

/// What the indexer is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Scanning,
    Indexing,
    /// The root is unreachable (unmounted, empty where it had files): its index is kept.
    Offline,
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
    pub files_moved: u64,
    pub files_removed: u64,
    pub files_skipped: u64,
    pub files_failed: u64,
    pub chunks_embedded: u64,
    /// Roots found offline (kept, not indexed).
    pub roots_offline: Vec<PathBuf>,
    /// Roots left alone because another Sift process is indexing them.
    pub roots_busy: Vec<PathBuf>,
    pub seconds: f64,
    /// Files that were skipped or failed in this run, with reasons.
    pub problems: Vec<(PathBuf, String)>,
}

/// Which part of a root a pass looks at.
pub(crate) enum Scope {
    /// The whole root (a full reconcile).
    Root,
    /// Only these paths under the root (files or folders, existing or deleted).
    Paths(Vec<PathBuf>),
}

/// Embeds document texts (the engine's document embedder); ends with [`Error::Cancelled`] soon after the
/// flag is set.
pub(crate) type EmbedFn<'a> = dyn Fn(&[Unit<'_>], &AtomicBool) -> Result<Vec<Vec<f32>>> + Sync + 'a;

/// See the module docs.
pub(crate) struct Indexer<'a> {
    pub catalog: &'a Catalog,
    pub embed: &'a EmbedFn<'a>,
    pub tokenizer: &'a tokenizers::Tokenizer,
    pub chunk: ChunkOptions,
    /// Identifies how chunks are cut (tokenizer + sizes): a file chunked otherwise is re-chunked.
    pub chunker_key: String,
    pub extract: ExtractOptions,
    /// The extraction worker, when documents are read in a separate process.
    pub worker: Option<&'a WorkerCommand>,
    pub excludes: &'a [String],
    /// Model tokens embedded (chunks and their windows) per group, one transaction each.
    pub batch_tokens: usize,
    pub lock_dir: PathBuf,
    pub embedded_total: &'a AtomicU64,
}

enum Prepared {
    /// Chunks of a changed document, in order, a group at a time (a large file streams many groups).
    Document {
        scanned: ScannedFile,
        hash: String,
        chunks: Vec<Chunk>,
        first: bool,
        last: bool,
    },
    Unchanged {
        scanned: ScannedFile,
        file_id: i64,
    },
    Moved {
        scanned: ScannedFile,
        from: FileRow,
    },
    Problem {
        scanned: ScannedFile,
        status: FileStatus,
        reason: String,
    },
}

/// A slice of one document waiting in the current batch.
struct Pending {
    scanned: ScannedFile,
    hash: String,
    first: bool,
    last: bool,
    first_ordinal: usize,
    chunks: Vec<Chunk>,
}

impl Indexer<'_> {
    /// Brings `folder` (or the given paths under it) up to date. Returns whether the index changed.
    pub(crate) fn run(
        &self,
        folder: &Folder,
        scope: Scope,
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
        // One process indexes a root at a time; another one waiting here would only redo the same work.
        let Some(_root_lock) = self.lock_root(&folder.path)? else {
            tracing::info!(folder = %folder.path.display(), "another Sift process is indexing this folder; leaving it to it");
            report.roots_busy.push(folder.path.clone());
            event.phase = Phase::Done;
            progress(&event);
            return Ok(false);
        };
        progress(&event);
        let (mut known, scanned) = match &scope {
            Scope::Root => {
                let known = self.catalog.read(|s| s.files_in_folder(folder.id))?;
                if let Some(reason) = self.offline_reason(folder, &known)? {
                    tracing::warn!(folder = %folder.path.display(), %reason, "folder is offline; keeping its index");
                    report.roots_offline.push(folder.path.clone());
                    event.phase = Phase::Offline;
                    progress(&event);
                    return Ok(false);
                }
                (known, scan::scan(&folder.path, self.excludes)?)
            }
            Scope::Paths(paths) => {
                if folder.offline {
                    event.phase = Phase::Offline;
                    progress(&event);
                    return Ok(false);
                }
                let mut known = HashMap::new();
                for p in paths {
                    known.extend(self.catalog.read(|s| s.files_under(p))?);
                }
                (known, scan::scan_paths(&folder.path, self.excludes, paths)?)
            }
        };
        let mut todo: Vec<(ScannedFile, Option<FileRow>)> = Vec::new();
        let mut unreadable: Vec<(PathBuf, String)> = Vec::new();
        for item in scanned {
            match item {
                Ok(file) => {
                    report.files_seen += 1;
                    let row = known.remove(&file.path);
                    if row.as_ref().is_some_and(|r| self.is_unchanged(r, &file)) {
                        report.files_unchanged += 1;
                    } else {
                        todo.push((file, row));
                    }
                }
                Err((path, reason)) => unreadable.push((path, reason)),
            }
        }
        let mut changed = false;
        // What could not be read keeps what was indexed under it (a folder without permission, a file
        // being replaced); the entry itself is recorded with the reason.
        for (path, reason) in unreadable {
            known.retain(|p, _| !p.starts_with(&path));
            if path == folder.path {
                continue;
            }
            let reason = if path.is_dir() {
                format!("cannot read this folder ({reason}); what was indexed in it is kept")
            } else {
                reason
            };
            self.catalog
                .record_problem(folder.id, &path, 0, 0, FileStatus::Failed, &reason)?;
            report.files_failed += 1;
            report.problems.push((path, reason));
        }
        // Files that vanished: renamed ones are matched by content below, the rest deleted at the end.
        let vanished_by_hash: HashMap<String, FileRow> = known
            .values()
            .filter(|r| r.status == FileStatus::Indexed && self.same_chunker(r))
            .filter_map(|r| Some((r.hash.clone()?, r.clone())))
            .collect();

        event.phase = Phase::Indexing;
        event.files_total = todo.len() as u64;
        progress(&event);
        if !todo.is_empty() {
            changed = true;
            let moved = self.process(
                folder,
                todo,
                &vanished_by_hash,
                &mut event,
                progress,
                cancel,
                report,
            )?;
            for id in moved {
                known.retain(|_, r| r.id != id);
            }
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        if !known.is_empty() {
            let ids: Vec<i64> = known.values().map(|r| r.id).collect();
            self.catalog.delete_files(&ids)?;
            report.files_removed += ids.len() as u64;
            changed = true;
        }
        changed |= self.fill_missing_vectors(folder, &mut event, progress, cancel, report)?;
        event.phase = Phase::Done;
        event.current = None;
        progress(&event);
        Ok(changed)
    }

    fn same_chunker(&self, row: &FileRow) -> bool {
        row.chunker.as_deref().is_none_or(|c| c == self.chunker_key)
    }

    fn is_unchanged(&self, row: &FileRow, file: &ScannedFile) -> bool {
        let same_file = row.size == file.size && row.mtime_ns == file.mtime_ns;
        match row.status {
            FileStatus::Indexed => same_file && self.same_chunker(row),
            FileStatus::Skipped | FileStatus::Failed => same_file,
            FileStatus::Partial => false,
        }
    }

    /// Why the root must be treated as offline, if it must.
    fn offline_reason(
        &self,
        folder: &Folder,
        known: &HashMap<PathBuf, FileRow>,
    ) -> Result<Option<String>> {
        let meta = match std::fs::metadata(&folder.path) {
            Ok(m) => m,
            Err(e) => {
                if !folder.offline {
                    self.catalog.set_folder_state(folder.id, None, true)?;
                }
                return Ok(Some(format!("cannot reach it: {e}")));
            }
        };
        let device = device_of(&meta);
        let had_files = !known.is_empty();
        let reason = if had_files && meta.is_dir() {
            let empty = std::fs::read_dir(&folder.path)
                .map(|mut rd| rd.next().is_none())
                .unwrap_or(true);
            let moved = folder.device.is_some() && device.is_some() && folder.device != device;
            if empty {
                Some("it is empty but had indexed files (a drive not mounted?)".to_string())
            } else if moved && !known.keys().take(200).any(|p| p.exists()) {
                Some("it is on another drive now, without the files indexed before".to_string())
            } else {
                None
            }
        } else {
            None
        };
        let offline = reason.is_some();
        // Written only when something changed: a no-op pass leaves the database untouched.
        if offline != folder.offline || (!offline && device.is_some() && device != folder.device) {
            self.catalog.set_folder_state(
                folder.id,
                if offline { None } else { device },
                offline,
            )?;
        }
        Ok(reason)
    }

    /// Holds `locks/<root>.lock` for this process, or `None` if another process holds it.
    fn lock_root(&self, root: &Path) -> Result<Option<std::fs::File>> {
        let name = blake3::hash(&crate::store::path_bytes(root)).to_hex();
        let path = self.lock_dir.join(format!("root-{}.lock", &name[..16]));
        let file = crate::paths::open_lock_file(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(Error::io(format!("locking {}", path.display()), e))
            }
        }
    }

    /// Runs the changed files through the pipeline. Returns the ids of rows that moved to a new path.
    #[allow(clippy::too_many_arguments)]
    fn process(
        &self,
        folder: &Folder,
        todo: Vec<(ScannedFile, Option<FileRow>)>,
        vanished_by_hash: &HashMap<String, FileRow>,
        event: &mut Progress,
        progress: &mut dyn FnMut(&Progress),
        cancel: &AtomicBool,
        report: &mut IndexReport,
    ) -> Result<Vec<i64>> {
        let chunker = Chunker::new(self.tokenizer, self.chunk)?;
        let extract_options = self.extract;
        let chunker_key = self.chunker_key.as_str();
        let group = self.batch_tokens.max(1);
        let mut moved = Vec::new();
        std::thread::scope(|scope| -> Result<()> {
            let (tx, rx) = mpsc::sync_channel::<Prepared>(16);
            let worker = self.worker;
            scope.spawn(move || {
                let mut claimed: HashSet<&str> = HashSet::new();
                // Started on the first document that needs a parser; killed when the pass ends.
                let mut extractor = Extractor::new(worker, extract_options).cancelled_by(cancel);
                for (scanned, row) in todo {
                    if cancel.load(Ordering::Relaxed) {
                        break;
                    }
                    // A panic while reading one file (a bug in a parser) fails that file, not the pass.
                    let failed = ScannedFile {
                        path: scanned.path.clone(),
                        size: scanned.size,
                        mtime_ns: scanned.mtime_ns,
                    };
                    let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        match prepare(
                            scanned,
                            row,
                            chunker_key,
                            &mut extractor,
                            vanished_by_hash,
                            &mut claimed,
                        ) {
                            Decision::Final(p) => tx.send(p).map_err(|_| Stopped),
                            Decision::Chunk { scanned, hash, doc } => {
                                send_chunks(&tx, &chunker, scanned, hash, &doc, group, cancel)
                            }
                        }
                    }));
                    let sent = match sent {
                        Ok(sent) => sent,
                        Err(panic) => {
                            tracing::error!(path = %failed.path.display(), panic = %panic_text(&panic), "reading a file panicked");
                            tx.send(Prepared::Problem {
                                scanned: failed,
                                status: FileStatus::Failed,
                                reason: "Sift hit an internal error reading this file; it will be retried when the file changes".into(),
                            })
                            .map_err(|_| Stopped)
                        }
                    };
                    if sent.is_err() {
                        break;
                    }
                }
            });
            // `rx` is owned here: returning early (an error) drops it, which unblocks and stops the reader.
            let mut batch: Vec<Pending> = Vec::new();
            let mut batch_tokens = 0usize;
            // The first group is a sixteenth of a full one and each next one twice the last, up to full
            // size: the first results are searchable (and committed, should the pass be killed) within
            // a second, and the groups reach their efficient size after a few.
            let mut limit = (self.batch_tokens / 16).max(1);
            // Documents that failed: their remaining slices are dropped, never stored.
            let mut failed: HashSet<PathBuf> = HashSet::new();
            // Ordinal of the next chunk of the document being received.
            let mut doc_ordinal = 0usize;
            for item in rx {
                if cancel.load(Ordering::Relaxed) {
                    break;
                }
                if !matches!(item, Prepared::Document { first: false, .. }) {
                    event.files_done += 1;
                }
                match item {
                    Prepared::Document {
                        scanned,
                        hash,
                        mut chunks,
                        first,
                        last,
                    } => {
                        event.current = Some(scanned.path.clone());
                        if first {
                            doc_ordinal = 0;
                        }
                        let total = chunks.len();
                        let mut taken = 0;
                        while !chunks.is_empty() {
                            // As many chunks as the group has room for, counted in tokens to embed (a
                            // chunk and its windows), at least one.
                            let room = limit.saturating_sub(batch_tokens).max(1);
                            let mut fit = 0;
                            let mut tokens = 0;
                            for c in &chunks {
                                let t = c.token_estimate();
                                if fit > 0 && tokens + t > room {
                                    break;
                                }
                                tokens += t;
                                fit += 1;
                            }
                            let rest = chunks.split_off(fit);
                            let slice = std::mem::replace(&mut chunks, rest);
                            let n = slice.len();
                            batch.push(Pending {
                                scanned: scanned.clone(),
                                hash: hash.clone(),
                                first: first && taken == 0,
                                last: last && taken + n == total,
                                first_ordinal: doc_ordinal,
                                chunks: slice,
                            });
                            doc_ordinal += n;
                            taken += n;
                            batch_tokens += tokens;
                            if batch_tokens >= limit {
                                self.flush(folder, &mut batch, &mut failed, event, report, cancel)?;
                                batch_tokens = 0;
                                limit = (limit * 2).min(self.batch_tokens.max(1));
                                progress(event);
                                if cancel.load(Ordering::Relaxed) {
                                    return Ok(());
                                }
                            }
                        }
                    }
                    Prepared::Unchanged { scanned, file_id } => {
                        self.catalog
                            .touch_file(file_id, scanned.size, scanned.mtime_ns)?;
                        report.files_unchanged += 1;
                    }
                    Prepared::Moved { scanned, from } => {
                        self.catalog.move_file(
                            from.id,
                            folder.id,
                            &scanned.path,
                            scanned.size,
                            scanned.mtime_ns,
                        )?;
                        tracing::debug!(from = %from.path.display(), to = %scanned.path.display(), "file moved");
                        report.files_moved += 1;
                        moved.push(from.id);
                    }
                    Prepared::Problem {
                        scanned,
                        status,
                        reason,
                    } => {
                        // A document that failed mid-stream: what is still batched of it is dropped.
                        batch.retain(|p| p.scanned.path != scanned.path);
                        batch_tokens = batch
                            .iter()
                            .flat_map(|p| &p.chunks)
                            .map(Chunk::token_estimate)
                            .sum();
                        failed.insert(scanned.path.clone());
                        self.problem(folder, &scanned, status, reason, event, report)?;
                    }
                }
                progress(event);
            }
            if !batch.is_empty() && !cancel.load(Ordering::Relaxed) {
                self.flush(folder, &mut batch, &mut failed, event, report, cancel)?;
                progress(event);
            }
            Ok(())
        })?;
        Ok(moved)
    }

    fn problem(
        &self,
        folder: &Folder,
        scanned: &ScannedFile,
        status: FileStatus,
        reason: String,
        event: &mut Progress,
        report: &mut IndexReport,
    ) -> Result<()> {
        self.catalog.record_problem(
            folder.id,
            &scanned.path,
            scanned.size,
            scanned.mtime_ns,
            status,
            &reason,
        )?;
        if status == FileStatus::Skipped {
            report.files_skipped += 1;
        } else {
            tracing::warn!(path = %scanned.path.display(), %reason, "file failed");
            report.files_failed += 1;
        }
        event.failed += 1;
        report.problems.push((scanned.path.clone(), reason));
        Ok(())
    }

    fn embed_slices(&self, slices: &[&Pending], cancel: &AtomicBool) -> Result<Vec<Vec<f32>>> {
        if let Some(p) = slices
            .iter()
            .find(|p| fault::injected(fault::Point::Embed, &p.scanned.path))
        {
            return Err(Error::Embed(format!(
                "injected fault for {}",
                p.scanned.path.display()
            )));
        }
        let texts: Vec<Unit<'_>> = slices
            .iter()
            .flat_map(|p| p.chunks.iter().flat_map(Chunk::texts))
            .collect();
        let vectors = embed_caught(self.embed, &texts, cancel)?;
        if vectors.len() != texts.len() {
            return Err(Error::Embed(format!(
                "{} vectors for {} passages",
                vectors.len(),
                texts.len()
            )));
        }
        self.embedded_total
            .fetch_add(vectors.len() as u64, Ordering::Relaxed);
        Ok(vectors)
    }

    fn store_slices(
        &self,
        folder: &Folder,
        slices: &[&Pending],
        vectors: Vec<Vec<f32>>,
    ) -> Result<()> {
        if let Some(p) = slices
            .iter()
            .find(|p| fault::injected(fault::Point::Store, &p.scanned.path))
        {
            return Err(Error::Invalid(format!(
                "injected fault for {}",
                p.scanned.path.display()
            )));
        }
        let mut vectors = vectors.into_iter();
        let parts: Vec<DocPart> = slices
            .iter()
            .map(|p| DocPart {
                folder_id: folder.id,
                path: p.scanned.path.clone(),
                size: p.scanned.size,
                mtime_ns: p.scanned.mtime_ns,
                hash: p.hash.clone(),
                chunker: self.chunker_key.clone(),
                first: p.first,
                last: p.last,
                first_ordinal: p.first_ordinal,
                chunks: p.chunks.clone(),
                vectors: vectors
                    .by_ref()
                    .take(p.chunks.iter().map(Chunk::units).sum())
                    .collect(),
            })
            .collect();
        self.catalog.write_parts(&parts)
    }

    /// Embeds and stores the batch in one transaction. If that fails, each document is tried alone, and a
    /// document that fails alone is recorded as failed (with the reason) — the pass goes on.
    fn flush(
        &self,
        folder: &Folder,
        batch: &mut Vec<Pending>,
        failed: &mut HashSet<PathBuf>,
        event: &mut Progress,
        report: &mut IndexReport,
        cancel: &AtomicBool,
    ) -> Result<()> {
        let mut pending = std::mem::take(batch);
        pending.retain(|p| !failed.contains(&p.scanned.path));
        if pending.is_empty() {
            return Ok(());
        }
        let all: Vec<&Pending> = pending.iter().collect();
        let whole = self
            .embed_slices(&all, cancel)
            .and_then(|v| self.store_slices(folder, &all, v));
        match whole {
            // Paused or stopped mid-batch: nothing of it is stored (the next pass embeds it again).
            Err(Error::Cancelled) => return Ok(()),
            Ok(()) => {
                for p in &pending {
                    event.chunks_done += p.chunks.len() as u64;
                    report.chunks_embedded += p.chunks.len() as u64;
                    if p.last {
                        report.files_indexed += 1;
                    }
                }
                return Ok(());
            }
            Err(e) => tracing::warn!(error = %e, "batch failed; retrying its documents one by one"),
        }
        for p in &pending {
            let one = [p];
            let vectors = match self.embed_slices(&one, cancel) {
                // Paused or stopped: the rest waits for the next pass, none of it marked failed.
                Err(Error::Cancelled) => return Ok(()),
                other => other,
            };
            let result = vectors
                .map_err(|e| format!("could not compute its passages' meaning ({e}); it will be retried when it changes"))
                .and_then(|v| {
                    self.store_slices(folder, &one, v).map_err(|e| {
                        format!("could not be stored ({e}); it will be retried when it changes")
                    })
                });
            match result {
                Ok(()) => {
                    event.chunks_done += p.chunks.len() as u64;
                    report.chunks_embedded += p.chunks.len() as u64;
                    if p.last {
                        report.files_indexed += 1;
                    }
                }
                Err(reason) => {
                    failed.insert(p.scanned.path.clone());
                    self.problem(
                        folder,
                        &p.scanned,
                        FileStatus::Failed,
                        reason,
                        event,
                        report,
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Gives every chunk under the root a vector of the active model (after a model or precision switch, or
    /// when another process stored chunks without them). Returns whether anything was added.
    fn fill_missing_vectors(
        &self,
        folder: &Folder,
        event: &mut Progress,
        progress: &mut dyn FnMut(&Progress),
        cancel: &AtomicBool,
        report: &mut IndexReport,
    ) -> Result<bool> {
        let model = self.catalog.model_key().to_string();
        let mut after = 0;
        let mut added = false;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(Error::Cancelled);
            }
            let rows = self
                .catalog
                .read(|s| s.chunks_missing_vectors(&model, folder.id, after, FILL_ROWS))?;
            let Some(last) = rows.last().map(|r| r.0) else {
                return Ok(added);
            };
            after = last;
            let texts: Vec<Unit<'_>> = rows.iter().map(|r| Unit::text(&r.1)).collect();
            match embed_caught(self.embed, &texts, cancel) {
                Ok(vectors) if vectors.len() == rows.len() => {
                    self.embedded_total
                        .fetch_add(vectors.len() as u64, Ordering::Relaxed);
                    let items: Vec<(i64, Vec<f32>)> =
                        rows.iter().map(|r| r.0).zip(vectors).collect();
                    let n = self.catalog.add_vectors(&items)?;
                    report.chunks_embedded += n;
                    event.chunks_done += n;
                    added = true;
                }
                Ok(_) => tracing::warn!("embedder returned the wrong number of vectors; skipping"),
                Err(Error::Cancelled) => return Err(Error::Cancelled),
                Err(e) => {
                    tracing::warn!(error = %e, "could not embed passages; they stay keyword-only until the next pass")
                }
            }
            event.phase = Phase::Indexing;
            progress(event);
        }
    }
}

/// Runs the embedder, turning a panic inside it into an error for the batch (then retried per file).
fn embed_caught(
    embed: &EmbedFn<'_>,
    texts: &[Unit<'_>],
    cancel: &AtomicBool,
) -> Result<Vec<Vec<f32>>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| embed(texts, cancel))).unwrap_or_else(
        |panic| {
            Err(Error::Embed(format!(
                "internal error: {}",
                panic_text(&panic)
            )))
        },
    )
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

#[cfg(unix)]
fn device_of(meta: &std::fs::Metadata) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    Some(meta.dev())
}

#[cfg(not(unix))]
fn device_of(_meta: &std::fs::Metadata) -> Option<u64> {
    None
}

/// What to do with a changed file, decided before any chunking.
enum Decision {
    Final(Prepared),
    Chunk {
        scanned: ScannedFile,
        hash: String,
        doc: extract::Extracted,
    },
}

fn prepare<'v>(
    scanned: ScannedFile,
    row: Option<FileRow>,
    chunker_key: &str,
    extractor: &mut Extractor<'_>,
    vanished_by_hash: &'v HashMap<String, FileRow>,
    claimed: &mut HashSet<&'v str>,
) -> Decision {
    Decision::Final(match extractor.extract(&scanned.path, scanned.size) {
        Ok(doc) => {
            let hash = content_hash(&doc);
            if let Some(r) = row.as_ref().filter(|r| {
                r.status == FileStatus::Indexed
                    && r.hash.as_deref() == Some(hash.as_str())
                    && r.chunker.as_deref().is_none_or(|c| c == chunker_key)
            }) {
                return Decision::Final(Prepared::Unchanged {
                    scanned,
                    file_id: r.id,
                });
            }
            if row.is_none() {
                if let Some((key, from)) = vanished_by_hash.get_key_value(&hash) {
                    if claimed.insert(key.as_str()) {
                        return Decision::Final(Prepared::Moved {
                            scanned,
                            from: from.clone(),
                        });
                    }
                }
            }
            return Decision::Chunk { scanned, hash, doc };
        }
        Err(ExtractError::Skipped(reason)) => Prepared::Problem {
            scanned,
            status: FileStatus::Skipped,
            reason,
        },
        Err(ExtractError::Failed(reason)) => Prepared::Problem {
            scanned,
            status: FileStatus::Failed,
            reason,
        },
    })
}

/// Identifies a document's extracted content: its text and, when it has any, where its pages/slides/
/// messages start (a reader that learns to place pages changes the hash, so the file is re-chunked).
fn content_hash(doc: &extract::Extracted) -> String {
    let mut h = blake3::Hasher::new();
    h.update(doc.text.as_bytes());
    if !doc.parts.is_empty() {
        if let Ok(parts) = serde_json::to_vec(&doc.parts) {
            h.update(b"\0parts\0");
            h.update(&parts);
        }
    }
    h.finalize().to_hex().to_string()
}

/// Rows per call when filling in missing vectors (chunks read back from the database).
const FILL_ROWS: usize = 512;

/// Sends a document's chunks in groups of about `group` tokens to embed (the last one marked), checking
/// `cancel` between groups. A text without any chunk is a skipped file.
fn send_chunks(
    tx: &mpsc::SyncSender<Prepared>,
    chunker: &Chunker,
    scanned: ScannedFile,
    hash: String,
    doc: &extract::Extracted,
    group: usize,
    cancel: &AtomicBool,
) -> std::result::Result<(), Stopped> {
    let mut held: Option<Vec<Chunk>> = None;
    let mut current = Vec::new();
    let mut current_tokens = 0;
    let mut first = true;
    let send = |chunks: Vec<Chunk>, first: &mut bool, last: bool| {
        let item = Prepared::Document {
            scanned: scanned.clone(),
            hash: hash.clone(),
            chunks,
            first: *first,
            last,
        };
        *first = false;
        tx.send(item).map_err(|_| Stopped)
    };
    for chunk in chunker.stream(&doc.text, doc.kind, &doc.parts) {
        current_tokens += chunk.token_estimate();
        current.push(chunk);
        if current_tokens >= group {
            current_tokens = 0;
            if let Some(prev) = held.replace(std::mem::take(&mut current)) {
                send(prev, &mut first, false)?;
            }
            if cancel.load(Ordering::Relaxed) {
                return Ok(());
            }
        }
    }
    match (held, current.is_empty()) {
        (Some(prev), false) => {
            send(prev, &mut first, false)?;
            send(current, &mut first, true)
        }
        (Some(prev), true) => send(prev, &mut first, true),
        (None, false) => send(current, &mut first, true),
        (None, true) => tx
            .send(Prepared::Problem {
                scanned,
                status: FileStatus::Skipped,
                reason: "no text".into(),
            })
            .map_err(|_| Stopped),
    }
}

/// The consumer stopped listening (cancelled or failed): the reader stops too.
struct Stopped;
