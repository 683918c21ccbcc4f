//! "Remember everything": the SQLite database (bundled SQLite, WAL) that is Sift's source of truth —
//! folders, files with their state, chunks with positions, vectors per model, and an FTS5 index over chunk
//! text. Every write is one `IMMEDIATE` transaction (so two processes never deadlock on a read-to-write
//! upgrade), so a crash at any moment leaves a consistent database.
//!
//! Paths are stored as the platform's raw bytes (`BLOB`), never lossily converted: a file whose name is not
//! UTF-8 keeps one row and can be opened again.
//!
//! Only [`crate::catalog::Catalog`] writes chunks and vectors (it keeps the vector graph in step); other users of
//! a `Store` read, or edit folders and file state.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::chunk::Chunk;
use crate::error::{Error, Result};
use crate::extract::Location;
use crate::quant;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran. They run with foreign
/// keys off (so rebuilding a table does not cascade), inside one transaction each.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE folders(
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    added_at INTEGER NOT NULL
);
CREATE TABLE files(
    id INTEGER PRIMARY KEY,
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    path TEXT NOT NULL UNIQUE,
    ext TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT,
    status TEXT NOT NULL CHECK (status IN ('indexed', 'skipped', 'failed')),
    reason TEXT,
    model TEXT,
    indexed_at INTEGER NOT NULL
);
CREATE INDEX files_folder ON files(folder_id);
CREATE TABLE chunks(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    line INTEGER NOT NULL,
    page INTEGER
);
CREATE INDEX chunks_file ON chunks(file_id);
CREATE TABLE vectors(
    chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, chunk_id)
) WITHOUT ROWID;
CREATE INDEX vectors_chunk ON vectors(chunk_id);
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    text, content='chunks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"#,
    // 2: lossless paths (BLOB), root device and offline state, per-file chunker (replaces the model column:
    // vectors are kept per model), a `partial` state for files committed in several batches, and one chunk
    // per (file, ordinal).
    r#"
CREATE TABLE folders_v2(
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL UNIQUE,
    added_at INTEGER NOT NULL,
    device INTEGER,
    offline INTEGER NOT NULL DEFAULT 0
);
INSERT INTO folders_v2(id, path, added_at) SELECT id, CAST(path AS BLOB), added_at FROM folders;
DROP TABLE folders;
ALTER TABLE folders_v2 RENAME TO folders;
CREATE TABLE files_v2(
    id INTEGER PRIMARY KEY,
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    path BLOB NOT NULL UNIQUE,
    ext TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT,
    status TEXT NOT NULL CHECK (status IN ('indexed', 'partial', 'skipped', 'failed')),
    reason TEXT,
    chunker TEXT,
    indexed_at INTEGER NOT NULL
);
INSERT INTO files_v2(id, folder_id, path, ext, size, mtime_ns, hash, status, reason, chunker, indexed_at)
    SELECT id, folder_id, CAST(path AS BLOB), ext, size, mtime_ns, hash, status, reason, NULL, indexed_at FROM files;
DROP TABLE files;
ALTER TABLE files_v2 RENAME TO files;
CREATE INDEX files_folder ON files(folder_id);
DROP INDEX chunks_file;
CREATE UNIQUE INDEX chunks_file_ordinal ON chunks(file_id, ordinal);
"#,
    // 3: where in its document a chunk sits (page, slide, sheet, chapter, message), as JSON; `page` keeps
    // the page number of paged documents.
    r#"
ALTER TABLE chunks ADD COLUMN location TEXT;
"#,
    // 4: sentence windows. A window is a row of `chunks` with `parent` set to its chunk (same file, same
    // ordinal, byte range inside the parent's): it has a vector but is not a passage, so keyword search never
    // sees it (the triggers skip it) and the (file, ordinal) key holds for passages only.
    r#"
ALTER TABLE chunks ADD COLUMN parent INTEGER;
CREATE INDEX chunks_parent ON chunks(parent) WHERE parent IS NOT NULL;
DROP INDEX chunks_file_ordinal;
CREATE UNIQUE INDEX chunks_file_ordinal ON chunks(file_id, ordinal) WHERE parent IS NULL;
DROP TRIGGER chunks_ai;
CREATE TRIGGER chunks_ai AFTER INSERT ON chunks WHEN new.parent IS NULL BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
DROP TRIGGER chunks_ad;
CREATE TRIGGER chunks_ad AFTER DELETE ON chunks WHEN old.parent IS NULL BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"#,
    // 5: the keyword index uses the `sift` tokenizer (`fts_tokenizer.rs`: porter as before, CJK runs as
    // bigrams). The triggers belong to `chunks` and stay. Passages only are indexed again: FTS5's 'rebuild'
    // would index every row of the content table, windows included.
    r#"
DROP TABLE chunks_fts;
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    text, content='chunks', content_rowid='id', tokenize='sift'
);
INSERT INTO chunks_fts(rowid, text) SELECT id, text FROM chunks WHERE parent IS NULL;
"#,
    // 6: what `status` shows, kept current by triggers in the transaction that changes the rows, so a status
    // poll reads one row instead of counting a million (`Store::counts`). Cascaded deletes fire the child
    // tables' triggers too. `integrity_problems` compares the row with real counts.
    r#"
CREATE TABLE counts(
    id INTEGER PRIMARY KEY CHECK (id = 1),
    folders INTEGER NOT NULL,
    files INTEGER NOT NULL,
    indexed_files INTEGER NOT NULL,
    skipped_files INTEGER NOT NULL,
    failed_files INTEGER NOT NULL,
    passages INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    vectors INTEGER NOT NULL
);
INSERT INTO counts VALUES (1,
    (SELECT count(*) FROM folders),
    (SELECT count(*) FROM files),
    (SELECT count(*) FROM files WHERE status IN ('indexed', 'partial')),
    (SELECT count(*) FROM files WHERE status = 'skipped'),
    (SELECT count(*) FROM files WHERE status = 'failed'),
    (SELECT count(*) FROM chunks WHERE parent IS NULL),
    (SELECT count(*) FROM chunks),
    (SELECT count(*) FROM vectors));
CREATE TRIGGER counts_folders_ai AFTER INSERT ON folders BEGIN
    UPDATE counts SET folders = folders + 1;
END;
CREATE TRIGGER counts_folders_ad AFTER DELETE ON folders BEGIN
    UPDATE counts SET folders = folders - 1;
END;
CREATE TRIGGER counts_files_ai AFTER INSERT ON files BEGIN
    UPDATE counts SET files = files + 1,
        indexed_files = indexed_files + (new.status IN ('indexed', 'partial')),
        skipped_files = skipped_files + (new.status = 'skipped'),
        failed_files = failed_files + (new.status = 'failed');
END;
CREATE TRIGGER counts_files_ad AFTER DELETE ON files BEGIN
    UPDATE counts SET files = files - 1,
        indexed_files = indexed_files - (old.status IN ('indexed', 'partial')),
        skipped_files = skipped_files - (old.status = 'skipped'),
        failed_files = failed_files - (old.status = 'failed');
END;
CREATE TRIGGER counts_files_au AFTER UPDATE OF status ON files BEGIN
    UPDATE counts SET
        indexed_files = indexed_files - (old.status IN ('indexed', 'partial'))
            + (new.status IN ('indexed', 'partial')),
        skipped_files = skipped_files - (old.status = 'skipped') + (new.status = 'skipped'),
        failed_files = failed_files - (old.status = 'failed') + (new.status = 'failed');
END;
CREATE TRIGGER counts_chunks_ai AFTER INSERT ON chunks BEGIN
    UPDATE counts SET chunks = chunks + 1, passages = passages + (new.parent IS NULL);
END;
CREATE TRIGGER counts_chunks_ad AFTER DELETE ON chunks BEGIN
    UPDATE counts SET chunks = chunks - 1, passages = passages - (old.parent IS NULL);
END;
CREATE TRIGGER counts_chunks_au AFTER UPDATE OF parent ON chunks BEGIN
    UPDATE counts SET passages = passages - (old.parent IS NULL) + (new.parent IS NULL);
END;
CREATE TABLE vector_counts(model TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO vector_counts SELECT model, count(*) FROM vectors GROUP BY model;
CREATE TRIGGER counts_vectors_ai AFTER INSERT ON vectors BEGIN
    UPDATE counts SET vectors = vectors + 1;
    INSERT INTO vector_counts VALUES (new.model, 1) ON CONFLICT(model) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER counts_vectors_ad AFTER DELETE ON vectors BEGIN
    UPDATE counts SET vectors = vectors - 1;
    UPDATE vector_counts SET n = n - 1 WHERE model = old.model;
END;
"#,
    // 7: vectors kept as 8-bit integers (`crate::quant`), a quarter of the f32 blobs before: a million
    // chunks' vectors take 384 MB instead of 1.5 GB. `sift_vector_f32_to_i8` is registered by `Store::open`.
    r#"
UPDATE vectors SET vector = sift_vector_f32_to_i8(vector);
"#,
];

/// Current schema version.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The state of a file's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// All its chunks (and their vectors for the model that indexed it) are stored.
    Indexed,
    /// A large file committed in several batches, not finished yet: searchable so far, redone if interrupted.
    Partial,
    /// Not indexed on purpose (not text, too large, excluded type); not retried until the file changes.
    Skipped,
    /// Could not be indexed (unreadable, corrupt, embedding failed); not retried until the file changes.
    Failed,
}

impl FileStatus {
    fn as_str(self) -> &'static str {
        match self {
            FileStatus::Indexed => "indexed",
            FileStatus::Partial => "partial",
            FileStatus::Skipped => "skipped",
            FileStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> FileStatus {
        match s {
            "indexed" => FileStatus::Indexed,
            "partial" => FileStatus::Partial,
            "skipped" => FileStatus::Skipped,
            _ => FileStatus::Failed,
        }
    }

    /// Skipped or failed: recorded with a reason, not retried until the file changes.
    pub fn is_problem(self) -> bool {
        matches!(self, FileStatus::Skipped | FileStatus::Failed)
    }
}

impl std::fmt::Display for FileStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A folder (or single file) the user added.
#[derive(Debug, Clone, Serialize)]
pub struct Folder {
    pub id: i64,
    pub path: PathBuf,
    /// Device (filesystem) id the root was on when last seen online.
    #[serde(skip)]
    pub device: Option<u64>,
    /// The root was missing, empty where it had files, or on another device at the last pass: its index is
    /// kept and searchable, and picked up again when it returns.
    pub offline: bool,
}

/// What the database knows about one file.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub id: i64,
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    pub hash: Option<String>,
    pub status: FileStatus,
    /// How its chunks were cut (model tokenizer and sizes); `None` for rows from before this was recorded.
    pub chunker: Option<String>,
}

/// A file that was not indexed, and why.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemFile {
    pub path: PathBuf,
    pub status: FileStatus,
    pub reason: String,
}

/// A chunk with its file, as shown in results.
#[derive(Debug, Clone)]
pub struct ChunkRecord {
    pub id: i64,
    pub file_id: i64,
    pub path: PathBuf,
    pub folder: PathBuf,
    pub text: String,
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub location: Option<Location>,
    /// The passage this is a window of (`None`: it is a passage).
    pub parent: Option<i64>,
}

/// A sentence window of a stored passage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowRow {
    pub id: i64,
    pub passage: i64,
    /// Byte range in the document's text.
    pub start: usize,
    pub end: usize,
}

/// One piece of a document to write: a whole small document, or a slice of a large one's chunks.
#[derive(Debug, Clone)]
pub struct DocPart {
    pub folder_id: i64,
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    pub hash: String,
    pub chunker: String,
    /// The first part replaces whatever the file had.
    pub first: bool,
    /// The last part marks the file indexed (until then it is `partial`).
    pub last: bool,
    /// Ordinal of `chunks[0]` within the document.
    pub first_ordinal: usize,
    pub chunks: Vec<Chunk>,
    /// One per unit, in order: each chunk's, then its windows' ([`Chunk::texts`]).
    pub vectors: Vec<Vec<f32>>,
}

/// Counts for `sift status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub folders: u64,
    pub files: u64,
    pub indexed_files: u64,
    pub skipped_files: u64,
    pub failed_files: u64,
    /// Passages (what results show).
    pub passages: u64,
    /// Units with a vector each: passages and their sentence windows.
    pub chunks: u64,
    /// Vectors of every model kept in the database.
    pub vectors: u64,
}

/// Restricts a search to some folders and/or file types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub folders: Vec<PathBuf>,
    /// Lower-case extensions without the dot.
    pub kinds: Vec<String>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.folders.is_empty() && self.kinds.is_empty()
    }

    /// SQL condition on `f` (files) and its parameters. Folder prefixes are byte ranges on the raw path, so
    /// they use the path index and need no string functions.
    fn sql(&self) -> (String, Vec<rusqlite::types::Value>) {
        use rusqlite::types::Value;
        let mut cond = Vec::new();
        let mut params = Vec::new();
        if !self.folders.is_empty() {
            let mut ors = Vec::new();
            for folder in &self.folders {
                let (exact, lo, hi) = prefix_range(folder);
                ors.push("(f.path = ? OR (f.path >= ? AND f.path < ?))".to_string());
                params.push(Value::Blob(exact));
                params.push(Value::Blob(lo));
                params.push(Value::Blob(hi));
            }
            cond.push(format!("({})", ors.join(" OR ")));
        }
        if !self.kinds.is_empty() {
            cond.push(format!(
                "f.ext IN ({})",
                vec!["?"; self.kinds.len()].join(",")
            ));
            params.extend(
                self.kinds
                    .iter()
                    .map(|k| Value::Text(k.trim_start_matches('.').to_ascii_lowercase())),
            );
        }
        if cond.is_empty() {
            ("1".into(), params)
        } else {
            (cond.join(" AND "), params)
        }
    }
}

/// (the path itself, the first and one-past-the-last raw path strictly under it).
fn prefix_range(path: &Path) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let exact = path_bytes(path);
    let sep = std::path::MAIN_SEPARATOR as u8;
    let mut base = exact.clone();
    while base.len() > 1 && base.last() == Some(&sep) {
        base.pop();
    }
    let mut lo = base.clone();
    if lo.last() != Some(&sep) {
        lo.push(sep);
    }
    let mut hi = lo.clone();
    if let Some(last) = hi.last_mut() {
        *last += 1;
    }
    (exact, lo, hi)
}

/// Keyword-index segments tolerated before [`Store::compact_keywords`] merges them into one: a search
/// reads every segment for each query word (at 30 k passages, 25 segments cost 15 % more keyword-search
/// time than one; docs/BENCHMARKS.md). FTS5 merges small segments into larger ones as they come, so
/// after a merge, edits leave few.
pub(crate) const MAX_KEYWORD_SEGMENTS: usize = 8;

/// A connection to the database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// `sift_rank`'s state on `conn` (the last keyword query's IDFs).
    rank: std::sync::Arc<crate::fts_rank::RankState>,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A path as the bytes stored in the database (lossless on Unix; WTF-8 on Windows).
pub fn path_bytes(p: &Path) -> Vec<u8> {
    p.as_os_str().as_encoded_bytes().to_vec()
}

/// Inverse of [`path_bytes`].
pub fn bytes_path(b: Vec<u8>) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        PathBuf::from(std::ffi::OsString::from_vec(b))
    }
    #[cfg(not(unix))]
    {
        match String::from_utf8(b) {
            Ok(s) => PathBuf::from(s),
            Err(e) => PathBuf::from(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        }
    }
}

/// Reads a path column stored as BLOB (or TEXT, from an older schema).
fn get_path(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<PathBuf> {
    match r.get_ref(idx)? {
        ValueRef::Blob(b) => Ok(bytes_path(b.to_vec())),
        ValueRef::Text(t) => Ok(bytes_path(t.to_vec())),
        _ => Err(rusqlite::Error::InvalidColumnType(
            idx,
            "path".into(),
            rusqlite::types::Type::Null,
        )),
    }
}

/// The stored form of a vector: one signed byte per dimension (`crate::quant`).
fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    quant::to_bytes(&quant::quantize(v))
}

/// Inverse of [`vector_to_blob`], as a unit vector.
fn blob_to_vector(b: &[u8]) -> Vec<f32> {
    quant::dequantize(&quant::from_bytes(b))
}

/// For migration 7: a little-endian f32 blob (the format before it) to the 8-bit blob.
fn register_vector_migration(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "sift_vector_f32_to_i8",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let blob = ctx.get_raw(0).as_blob()?;
            let v: Vec<f32> = blob
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            Ok(vector_to_blob(&v))
        },
    )?;
    Ok(())
}

const FILE_COLUMNS: &str = "id, path, size, mtime_ns, hash, status, chunker";

impl Store {
    /// Opens (creating and migrating as needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        let conn = Connection::open(path)?;
        // Every connection registers the keyword tokenizer before anything touches `chunks_fts` (migrations
        // included): without it the table can be neither searched nor written through the `chunks` triggers.
        crate::fts_tokenizer::register(&conn)?;
        let rank = crate::fts_rank::register(&conn)?;
        register_vector_migration(&conn)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // SQLite's default page cache (2 MB) holds a sliver of an index of a few hundred MB: each query then
        // re-reads the chunk, docsize and FTS pages it touches from the OS (a profile of SciFact queries:
        // a fifth of the time in pread). 32 MiB per connection, allocated only as pages are read.
        conn.pragma_update(None, "cache_size", -32 * 1024)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            rank,
        };
        store.migrate()?;
        store.conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                path: self.path.clone(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        self.conn.pragma_update(None, "foreign_keys", "OFF")?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Another process may have migrated while this one waited for the lock.
            let now: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            if now > i as i64 {
                continue;
            }
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
            tracing::info!(version = i + 1, "database migrated");
        }
        // The database's identity: saved vector graphs record it, so a graph is never matched to another
        // database (e.g. after index.sqlite was deleted and recreated).
        let id = format!(
            "{}",
            blake3::hash(
                format!(
                    "{:?}{}{:p}",
                    std::time::SystemTime::now(),
                    std::process::id(),
                    &self.path
                )
                .as_bytes()
            )
            .to_hex()
        );
        self.conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('database_id', ?1)",
            [&id[..32]],
        )?;
        Ok(())
    }

    fn write_tx(&mut self) -> Result<rusqlite::Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A random id given to this database when it was created.
    pub fn database_id(&self) -> Result<String> {
        self.meta("database_id")?
            .ok_or_else(|| Error::Invalid("the index has no database id".into()))
    }

    /// A counter that changes whenever another connection commits (SQLite's `data_version`).
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "data_version", |r| r.get(0))?)
    }

    /// Reads a `meta` value.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?", [key], |r| r.get(0))
            .optional()?)
    }

    /// Adds a root. A root inside an existing root is already covered (the existing one is returned); a root
    /// that contains existing roots absorbs them.
    pub fn add_folder(&mut self, path: &Path) -> Result<Folder> {
        let folders = self.folders()?;
        if let Some(existing) = folders.iter().find(|f| path.starts_with(&f.path)) {
            return Ok(existing.clone());
        }
        let tx = self.write_tx()?;
        tx.execute(
            "INSERT INTO folders(path, added_at) VALUES (?1, ?2)",
            params![path_bytes(path), now_secs()],
        )?;
        let id = tx.last_insert_rowid();
        for child in folders.iter().filter(|f| f.path.starts_with(path)) {
            tx.execute(
                "UPDATE files SET folder_id = ?1 WHERE folder_id = ?2",
                params![id, child.id],
            )?;
            tx.execute("DELETE FROM folders WHERE id = ?1", [child.id])?;
        }
        tx.commit()?;
        Ok(Folder {
            id,
            path: path.to_path_buf(),
            device: None,
            offline: false,
        })
    }

    /// Removes a root and everything indexed under it; returns the removed chunk ids.
    pub(crate) fn remove_folder(&mut self, path: &Path) -> Result<Vec<i64>> {
        let tx = self.write_tx()?;
        let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM folders WHERE path = ?",
                [path_bytes(path)],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else {
            return Err(Error::InvalidPath(format!(
                "{} is not an indexed folder",
                path.display()
            )));
        };
        let chunk_ids = {
            let mut stmt = tx.prepare(
                "SELECT c.id FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.folder_id = ?",
            )?;
            let ids = stmt
                .query_map([id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            ids
        };
        tx.execute("DELETE FROM folders WHERE id = ?", [id])?;
        tx.commit()?;
        Ok(chunk_ids)
    }

    /// Records whether a root is reachable, and the device it is on.
    pub fn set_folder_state(&mut self, id: i64, device: Option<u64>, offline: bool) -> Result<()> {
        self.conn.execute(
            "UPDATE folders SET device = coalesce(?1, device), offline = ?2 WHERE id = ?3",
            params![device.map(|d| d as i64), offline, id],
        )?;
        Ok(())
    }

    /// All roots.
    pub fn folders(&self) -> Result<Vec<Folder>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, path, device, offline FROM folders ORDER BY path")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Folder {
                    id: r.get(0)?,
                    path: get_path(r, 1)?,
                    device: r.get::<_, Option<i64>>(2)?.map(|d| d as u64),
                    offline: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every file recorded under a root, by path.
    pub fn files_in_folder(&self, folder_id: i64) -> Result<HashMap<PathBuf, FileRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {FILE_COLUMNS} FROM files WHERE folder_id = ?"
        ))?;
        let rows = stmt
            .query_map([folder_id], file_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows.into_iter().map(|r| (r.path.clone(), r)).collect())
    }

    /// Every file recorded at `path` or under it.
    pub fn files_under(&self, path: &Path) -> Result<HashMap<PathBuf, FileRow>> {
        let (exact, lo, hi) = prefix_range(path);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {FILE_COLUMNS} FROM files WHERE path = ?1 OR (path >= ?2 AND path < ?3)"
        ))?;
        let rows = stmt
            .query_map(params![exact, lo, hi], file_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows.into_iter().map(|r| (r.path.clone(), r)).collect())
    }

    /// One file's row.
    pub fn file(&self, path: &Path) -> Result<Option<FileRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {FILE_COLUMNS} FROM files WHERE path = ?"),
                [path_bytes(path)],
                file_row,
            )
            .optional()?)
    }

    /// Deletes files (and their chunks and vectors) in one transaction; returns the removed chunk ids.
    pub(crate) fn delete_files(&mut self, file_ids: &[i64]) -> Result<Vec<i64>> {
        let tx = self.write_tx()?;
        let mut removed = Vec::new();
        {
            let mut sel = tx.prepare_cached("SELECT id FROM chunks WHERE file_id = ?")?;
            let mut del = tx.prepare_cached("DELETE FROM files WHERE id = ?")?;
            for &id in file_ids {
                removed.extend(
                    sel.query_map([id], |r| r.get::<_, i64>(0))?
                        .collect::<rusqlite::Result<Vec<_>>>()?,
                );
                del.execute([id])?;
            }
        }
        tx.commit()?;
        Ok(removed)
    }

    /// Records a file that was not indexed (skipped or failed), dropping any chunks it had.
    /// Returns the removed chunk ids.
    pub(crate) fn record_problem(
        &mut self,
        folder_id: i64,
        path: &Path,
        size: u64,
        mtime_ns: i64,
        status: FileStatus,
        reason: &str,
    ) -> Result<Vec<i64>> {
        let tx = self.write_tx()?;
        let removed = delete_chunks_of(&tx, path)?;
        tx.execute(
            "INSERT INTO files(folder_id, path, ext, size, mtime_ns, hash, status, reason, chunker, indexed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7, NULL, ?8)
             ON CONFLICT(path) DO UPDATE SET folder_id = excluded.folder_id, size = excluded.size,
               mtime_ns = excluded.mtime_ns, hash = NULL, status = excluded.status, reason = excluded.reason,
               chunker = NULL, indexed_at = excluded.indexed_at",
            params![
                folder_id,
                path_bytes(path),
                crate::extract::extension(path),
                size as i64,
                mtime_ns,
                status.as_str(),
                reason,
                now_secs()
            ],
        )?;
        tx.commit()?;
        Ok(removed)
    }

    /// Updates size and mtime of a file whose content hash did not change (touched, copied back, ...).
    pub fn touch_file(&mut self, id: i64, size: u64, mtime_ns: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE files SET size = ?1, mtime_ns = ?2 WHERE id = ?3",
            params![size as i64, mtime_ns, id],
        )?;
        Ok(())
    }

    /// A file was renamed or moved with unchanged content: its row (and so its chunks and vectors) follows it.
    pub(crate) fn move_file(
        &mut self,
        id: i64,
        folder_id: i64,
        path: &Path,
        size: u64,
        mtime_ns: i64,
    ) -> Result<Vec<i64>> {
        let tx = self.write_tx()?;
        // Whatever was recorded at the destination is replaced.
        let removed = delete_chunks_of(&tx, path)?;
        tx.execute(
            "DELETE FROM files WHERE path = ?1 AND id != ?2",
            params![path_bytes(path), id],
        )?;
        tx.execute(
            "UPDATE files SET folder_id = ?1, path = ?2, ext = ?3, size = ?4, mtime_ns = ?5 WHERE id = ?6",
            params![
                folder_id,
                path_bytes(path),
                crate::extract::extension(path),
                size as i64,
                mtime_ns,
                id
            ],
        )?;
        tx.commit()?;
        Ok(removed)
    }

    /// Writes document parts in one transaction. Returns (removed chunk ids, added chunk ids per part).
    pub(crate) fn write_parts(
        &mut self,
        parts: &[DocPart],
        model: &str,
    ) -> Result<(Vec<i64>, Vec<Vec<i64>>)> {
        let tx = self.write_tx()?;
        let mut removed = Vec::new();
        let mut added = Vec::with_capacity(parts.len());
        for part in parts {
            let path = path_bytes(&part.path);
            if part.first {
                removed.extend(delete_chunks_of(&tx, &part.path)?);
                tx.execute(
                    "INSERT INTO files(folder_id, path, ext, size, mtime_ns, hash, status, reason, chunker, indexed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, NULL, 'partial', NULL, ?6, ?7)
                     ON CONFLICT(path) DO UPDATE SET folder_id = excluded.folder_id, size = excluded.size,
                       mtime_ns = excluded.mtime_ns, hash = NULL, status = 'partial', reason = NULL,
                       chunker = excluded.chunker, indexed_at = excluded.indexed_at",
                    params![
                        part.folder_id,
                        path,
                        crate::extract::extension(&part.path),
                        part.size as i64,
                        part.mtime_ns,
                        part.chunker,
                        now_secs()
                    ],
                )?;
            }
            let file_id: i64 =
                tx.query_row("SELECT id FROM files WHERE path = ?", [&path], |r| r.get(0))?;
            let mut ids = Vec::with_capacity(part.chunks.len());
            {
                let mut ins = tx.prepare_cached(
                    "INSERT INTO chunks(file_id, ordinal, text, start, end, line, page, location) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                let mut vec_ins = tx.prepare_cached(
                    "INSERT INTO vectors(chunk_id, model, vector) VALUES (?1, ?2, ?3)",
                )?;
                let mut win_ins = tx.prepare_cached(
                    "INSERT INTO chunks(file_id, ordinal, text, start, end, line, page, location, parent)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?;
                let units: usize = part.chunks.iter().map(Chunk::units).sum();
                if units != part.vectors.len() {
                    return Err(Error::Invalid(format!(
                        "{} vectors for {units} passages and windows",
                        part.vectors.len()
                    )));
                }
                let mut vectors = part.vectors.iter();
                for (i, chunk) in part.chunks.iter().enumerate() {
                    let ordinal = (part.first_ordinal + i) as i64;
                    let page = chunk.location.as_ref().and_then(Location::page);
                    let location = chunk
                        .location
                        .as_ref()
                        .and_then(|l| serde_json::to_string(l).ok());
                    ins.execute(params![
                        file_id,
                        ordinal,
                        chunk.text,
                        chunk.start as i64,
                        chunk.end as i64,
                        chunk.line as i64,
                        page,
                        location
                    ])?;
                    let chunk_id = tx.last_insert_rowid();
                    let mut unit_ids = vec![chunk_id];
                    for w in &chunk.windows {
                        win_ins.execute(params![
                            file_id,
                            ordinal,
                            w.text,
                            w.start as i64,
                            w.end as i64,
                            chunk.line_of(w) as i64,
                            page,
                            location,
                            chunk_id
                        ])?;
                        unit_ids.push(tx.last_insert_rowid());
                    }
                    for id in unit_ids {
                        if let Some(vector) = vectors.next() {
                            vec_ins.execute(params![id, model, vector_to_blob(vector)])?;
                        }
                        ids.push(id);
                    }
                }
            }
            if part.last {
                tx.execute(
                    "UPDATE files SET status = 'indexed', hash = ?1, size = ?2, mtime_ns = ?3 WHERE id = ?4",
                    params![part.hash, part.size as i64, part.mtime_ns, file_id],
                )?;
            }
            added.push(ids);
        }
        tx.commit()?;
        Ok((removed, added))
    }

    /// Stores vectors of `model` for existing chunks (chunks deleted meanwhile are skipped). Returns the ids
    /// stored.
    pub(crate) fn add_vectors(
        &mut self,
        model: &str,
        items: &[(i64, Vec<f32>)],
    ) -> Result<Vec<i64>> {
        let tx = self.write_tx()?;
        let mut stored = Vec::with_capacity(items.len());
        {
            let mut ins = tx.prepare_cached(
                "INSERT OR IGNORE INTO vectors(chunk_id, model, vector)
                 SELECT id, ?2, ?3 FROM chunks WHERE id = ?1",
            )?;
            for (id, v) in items {
                if ins.execute(params![id, model, vector_to_blob(v)])? > 0 {
                    stored.push(*id);
                }
            }
        }
        tx.commit()?;
        Ok(stored)
    }

    /// Up to `limit` chunks under a root that have no vector of `model` yet, as (chunk id, text), by id.
    pub fn chunks_missing_vectors(
        &self,
        model: &str,
        folder_id: i64,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, c.text FROM chunks c JOIN files f ON f.id = c.file_id
             WHERE f.folder_id = ?1 AND c.id > ?2
               AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.model = ?3 AND v.chunk_id = c.id)
             ORDER BY c.id LIMIT ?4",
        )?;
        let rows = stmt
            .query_map(params![folder_id, after, model, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Chunks without a vector of `model`.
    pub fn count_missing_vectors(&self, model: &str) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM chunks c
             WHERE NOT EXISTS (SELECT 1 FROM vectors v WHERE v.model = ?1 AND v.chunk_id = c.id)",
            [model],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Chunks by id with their files; ids that no longer exist are left out. Order follows `ids`.
    pub fn chunks(&self, ids: &[i64]) -> Result<Vec<ChunkRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT c.id, c.file_id, f.path, d.path, c.text, c.start, c.end, c.line, c.location, c.parent
             FROM chunks c JOIN files f ON f.id = c.file_id JOIN folders d ON d.id = f.folder_id
             WHERE c.id IN ({})",
            vec!["?"; ids.len()].join(",")
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut by_id: HashMap<i64, ChunkRecord> = stmt
            .query_map(params_from_iter(ids.iter()), |r| {
                Ok(ChunkRecord {
                    id: r.get(0)?,
                    file_id: r.get(1)?,
                    path: get_path(r, 2)?,
                    folder: get_path(r, 3)?,
                    text: r.get(4)?,
                    start: r.get::<_, i64>(5)? as usize,
                    end: r.get::<_, i64>(6)? as usize,
                    line: r.get::<_, i64>(7)? as usize,
                    location: r
                        .get::<_, Option<String>>(8)?
                        .and_then(|l| serde_json::from_str(&l).ok()),
                    parent: r.get(9)?,
                })
            })?
            .filter_map(|r| r.ok())
            .map(|c| (c.id, c))
            .collect();
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// Full-text search: chunk ids and BM25 scores (lower is better, as SQLite reports them), best first.
    /// Scored by `sift_rank` (`fts_rank.rs`): FTS5's BM25 with passage lengths kept in memory.
    pub fn fts(&self, match_expr: &str, limit: usize, filter: &Filter) -> Result<Vec<(i64, f64)>> {
        // Left by an earlier query; this one's replace them when it scores a row.
        self.rank.take_idf();
        if filter.is_empty() {
            // No filter: rank in FTS5 alone; joining every match to its chunk and file before the sort costs
            // a B-tree lookup per matching passage.
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT rowid, sift_rank(chunks_fts) AS score FROM chunks_fts
                 WHERE chunks_fts MATCH ?1 ORDER BY score LIMIT {limit}"
            ))?;
            let rows = stmt
                .query_map([match_expr], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            return Ok(rows);
        }
        let (cond, fparams) = filter.sql();
        let sql = format!(
            "SELECT c.id, sift_rank(chunks_fts) AS score FROM chunks_fts
             JOIN chunks c ON c.id = chunks_fts.rowid JOIN files f ON f.id = c.file_id
             WHERE chunks_fts MATCH ? AND {cond} ORDER BY score LIMIT {limit}"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut all = vec![rusqlite::types::Value::Text(match_expr.to_string())];
        all.extend(fparams);
        let rows = stmt
            .query_map(params_from_iter(all.iter()), |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// What FTS5's BM25 gives a passage of average length holding each of `terms` once: the sum of their
    /// IDFs, computed as FTS5 does (`ln((N − n + 0.5) / (n + 0.5))`, at least 1e-6). Terms go through FTS5's
    /// own tokenizer (stemming), so they count as keyword search matched them.
    pub fn ideal_bm25(&self, terms: &[String]) -> Result<f64> {
        // Every passage is in the keyword index (windows never are): the kept count, not a scan.
        let n_all = self.counts()?.passages as i64;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?")?;
        let mut sum = 0.0;
        for term in terms {
            let quoted = format!("\"{}\"", term.replace('"', "\"\""));
            let n: i64 = stmt.query_row([quoted], |r| r.get(0))?;
            let idf = ((n_all - n) as f64 + 0.5) / (n as f64 + 0.5);
            sum += idf.ln().max(1e-6);
        }
        Ok(sum)
    }

    /// The IDF of each phrase of the last [`Store::fts`] query, in the order they appear in its expression,
    /// exactly as its scores used them; empty when it matched nothing.
    pub(crate) fn last_keyword_idf(&self) -> Vec<f64> {
        self.rank.take_idf()
    }

    /// The keyword index's tokenizer on this connection, to cut text exactly as the index does.
    pub(crate) fn keyword_tokenizer(&self) -> Result<crate::fts_tokenizer::Tokenizer<'_>> {
        Ok(crate::fts_tokenizer::Tokenizer::new(&self.conn)?)
    }

    /// How many segments (FTS5 b-trees) the keyword index is in. Every commit adds one; FTS5 merges them
    /// in fours, level by level, so a long indexing run leaves a few dozen, and a search reads each of
    /// them for every word of the query.
    pub fn keyword_segments(&self) -> Result<usize> {
        Ok(self.conn.query_row(
            "SELECT count(DISTINCT segid) FROM chunks_fts_idx",
            [],
            |r| r.get::<_, i64>(0),
        )? as usize)
    }

    /// Merges the keyword index into one segment when writes have left more than
    /// `MAX_KEYWORD_SEGMENTS`; returns whether it did. Rewrites the whole keyword index (measured: 0.13 s
    /// for 30 k passages, docs/BENCHMARKS.md), so it runs after an indexing pass, not per commit.
    pub fn compact_keywords(&self) -> Result<bool> {
        if self.keyword_segments()? <= MAX_KEYWORD_SEGMENTS {
            return Ok(false);
        }
        self.conn
            .execute("INSERT INTO chunks_fts(chunks_fts) VALUES('optimize')", [])?;
        Ok(true)
    }

    /// Ids of passages whose text matches an FTS expression (for exact-phrase restriction), and of their
    /// windows.
    pub fn fts_ids(&self, match_expr: &str) -> Result<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(
            "WITH hit(id) AS (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?1)
             SELECT id FROM hit UNION ALL SELECT c.id FROM chunks c JOIN hit ON c.parent = hit.id",
        )?;
        let rows = stmt
            .query_map([match_expr], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Ids of chunks that pass a filter.
    pub fn filtered_chunk_ids(&self, filter: &Filter) -> Result<Vec<i64>> {
        let (cond, fparams) = filter.sql();
        let sql = format!(
            "SELECT c.id FROM chunks c JOIN files f ON f.id = c.file_id WHERE {cond} ORDER BY c.id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt
            .query_map(params_from_iter(fparams.iter()), |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Calls `f` for every stored vector of `model` with chunk id > `after`, in id order.
    pub fn for_each_vector(
        &self,
        model: &str,
        after: i64,
        mut f: impl FnMut(i64, Vec<f32>),
    ) -> Result<()> {
        let mut stmt =
            self.conn.prepare_cached("SELECT chunk_id, vector FROM vectors WHERE model = ?1 AND chunk_id > ?2 ORDER BY chunk_id")?;
        let mut rows = stmt.query(params![model, after])?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let blob: Vec<u8> = row.get(1)?;
            f(id, blob_to_vector(&blob));
        }
        Ok(())
    }

    /// Vectors of the given chunks for `model`.
    pub fn vectors(&self, model: &str, ids: &[i64]) -> Result<Vec<(i64, Vec<f32>)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for all (ids are integers, so listing them inline is safe), in the order asked.
        let sql = format!(
            "SELECT chunk_id, vector FROM vectors WHERE model = ?1 AND chunk_id IN ({})",
            id_list(ids)
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut found: HashMap<i64, Vec<f32>> = stmt
            .query_map([model], |r| {
                Ok((r.get(0)?, blob_to_vector(&r.get::<_, Vec<u8>>(1)?)))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids
            .iter()
            .filter_map(|id| found.remove(id).map(|v| (*id, v)))
            .collect())
    }

    /// The passage each of `ids` is a window of (ids that are passages are left out).
    pub fn parents(&self, ids: &[i64]) -> Result<HashMap<i64, i64>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let list = id_list(ids);
        let sql =
            format!("SELECT id, parent FROM chunks WHERE id IN ({list}) AND parent IS NOT NULL");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<HashMap<i64, i64>>>()?;
        Ok(rows)
    }

    /// The windows of `passages`.
    pub fn windows_of(&self, passages: &[i64]) -> Result<Vec<WindowRow>> {
        if passages.is_empty() {
            return Ok(Vec::new());
        }
        let list = id_list(passages);
        let sql = format!("SELECT id, parent, start, end FROM chunks WHERE parent IN ({list})");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(WindowRow {
                    id: r.get(0)?,
                    passage: r.get(1)?,
                    start: r.get::<_, i64>(2)? as usize,
                    end: r.get::<_, i64>(3)? as usize,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Ids of all chunks that have a vector of `model`, ascending.
    pub fn vector_ids(&self, model: &str) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT chunk_id FROM vectors WHERE model = ? ORDER BY chunk_id")?;
        let rows = stmt
            .query_map([model], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Counts for status displays.
    pub fn counts(&self) -> Result<Counts> {
        // One row, kept by triggers (migration 6).
        Ok(self.conn.query_row(
            "SELECT folders, files, indexed_files, skipped_files, failed_files, passages, chunks, vectors
             FROM counts WHERE id = 1",
            [],
            |r| {
                let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
                Ok(Counts {
                    folders: n(0)?,
                    files: n(1)?,
                    indexed_files: n(2)?,
                    skipped_files: n(3)?,
                    failed_files: n(4)?,
                    passages: n(5)?,
                    chunks: n(6)?,
                    vectors: n(7)?,
                })
            },
        )?)
    }

    /// [`Store::counts`] counted from the tables themselves (what the kept counts must equal).
    fn counted(&self) -> Result<Counts> {
        let one = |sql: &str| -> Result<u64> {
            Ok(self.conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
        };
        Ok(Counts {
            folders: one("SELECT count(*) FROM folders")?,
            files: one("SELECT count(*) FROM files")?,
            indexed_files: one(
                "SELECT count(*) FROM files WHERE status IN ('indexed', 'partial')",
            )?,
            skipped_files: one("SELECT count(*) FROM files WHERE status = 'skipped'")?,
            failed_files: one("SELECT count(*) FROM files WHERE status = 'failed'")?,
            passages: one("SELECT count(*) FROM chunks WHERE parent IS NULL")?,
            chunks: one("SELECT count(*) FROM chunks")?,
            vectors: one("SELECT count(*) FROM vectors")?,
        })
    }

    /// Chunks stored (passages and windows; a kept count).
    pub fn count_chunks(&self) -> Result<u64> {
        Ok(self.counts()?.chunks)
    }

    /// Vectors stored for `model` (a kept count).
    pub fn count_vectors(&self, model: &str) -> Result<u64> {
        Ok(self
            .conn
            .query_row(
                "SELECT n FROM vector_counts WHERE model = ?",
                [model],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .unwrap_or(0)
            .max(0) as u64)
    }

    /// Per-root counts: (files recorded, failed or skipped).
    pub fn folder_counts(&self, folder_id: i64) -> Result<(u64, u64)> {
        Ok(self.conn.query_row(
            "SELECT count(*), coalesce(sum(status IN ('skipped', 'failed')), 0) FROM files WHERE folder_id = ?",
            [folder_id],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
    }

    /// Extensions (lower case, without the dot) of the searchable files, with how many files have each, most
    /// common first: what the type filters can match.
    pub fn indexed_extensions(&self) -> Result<Vec<(String, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ext, count(*) FROM files WHERE status IN ('indexed', 'partial') GROUP BY ext
             ORDER BY count(*) DESC, ext",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Files that were skipped or failed, optionally under one root.
    pub fn problem_files(&self, folder: Option<&Path>) -> Result<Vec<ProblemFile>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT f.path, f.status, coalesce(f.reason, '') FROM files f JOIN folders d ON d.id = f.folder_id
             WHERE f.status IN ('skipped', 'failed') AND (?1 IS NULL OR d.path = ?1) ORDER BY f.status, f.path",
        )?;
        let rows = stmt
            .query_map([folder.map(path_bytes)], |r| {
                Ok(ProblemFile {
                    path: get_path(r, 0)?,
                    status: FileStatus::parse(&r.get::<_, String>(1)?),
                    reason: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Whether `path` is a document Sift has indexed — the only paths the app may open.
    pub fn is_indexed_file(&self, path: &Path) -> Result<bool> {
        Ok(self
            .file(path)?
            .is_some_and(|f| matches!(f.status, FileStatus::Indexed | FileStatus::Partial)))
    }

    /// Runs SQLite's and FTS5's integrity checks; returns the problems found (empty when consistent).
    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let row = row?;
            if row != "ok" {
                out.push(row);
            }
        }
        // The index's own structure; its content against the table is checked below, since windows are rows
        // of the content table that are deliberately not indexed.
        if let Err(e) = self.conn.execute(
            "INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 0)",
            [],
        ) {
            out.push(format!("full-text index: {e}"));
        }
        let count = |sql: &str| -> Result<i64> { Ok(self.conn.query_row(sql, [], |r| r.get(0))?) };
        let unindexed = count(
            "SELECT count(*) FROM chunks c WHERE c.parent IS NULL
               AND NOT EXISTS (SELECT 1 FROM chunks_fts_docsize d WHERE d.id = c.id)",
        )?;
        let extra = count(
            "SELECT count(*) FROM chunks_fts_docsize d
               WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = d.id AND c.parent IS NULL)",
        )?;
        if unindexed > 0 || extra > 0 {
            out.push(format!(
                "full-text index: {unindexed} passages missing, {extra} rows that are not passages"
            ));
        }
        let dup = count(
            "SELECT count(*) FROM (SELECT 1 FROM chunks WHERE parent IS NULL
               GROUP BY file_id, ordinal HAVING count(*) > 1)",
        )?;
        if dup > 0 {
            out.push(format!("{dup} duplicate (file, ordinal) chunks"));
        }
        let orphans = count(
            "SELECT count(*) FROM chunks w WHERE w.parent IS NOT NULL AND NOT EXISTS
               (SELECT 1 FROM chunks c WHERE c.id = w.parent AND c.file_id = w.file_id AND c.parent IS NULL)",
        )?;
        if orphans > 0 {
            out.push(format!("{orphans} windows without their passage"));
        }
        let (kept, counted) = (self.counts()?, self.counted()?);
        if kept != counted {
            out.push(format!(
                "kept counts {kept:?} differ from the rows {counted:?}"
            ));
        }
        let per_model = count(
            "SELECT count(*) FROM (SELECT model, count(*) AS n FROM vectors GROUP BY model) v
               FULL JOIN (SELECT model, n FROM vector_counts WHERE n != 0) k USING (model)
               WHERE v.n IS NOT k.n",
        )?;
        if per_model > 0 {
            out.push(format!("kept vector counts differ for {per_model} models"));
        }
        Ok(out)
    }
}

/// Row ids as an SQL list (`1,2,3`) for `IN (…)`: integers only, so nothing from a user reaches the SQL.
fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

fn file_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FileRow> {
    Ok(FileRow {
        id: r.get(0)?,
        path: get_path(r, 1)?,
        size: r.get::<_, i64>(2)? as u64,
        mtime_ns: r.get(3)?,
        hash: r.get(4)?,
        status: FileStatus::parse(&r.get::<_, String>(5)?),
        chunker: r.get(6)?,
    })
}

fn delete_chunks_of(tx: &rusqlite::Transaction<'_>, path: &Path) -> Result<Vec<i64>> {
    let mut sel = tx.prepare_cached(
        "SELECT c.id FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.path = ?",
    )?;
    let ids = sel
        .query_map([path_bytes(path)], |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if !ids.is_empty() {
        tx.execute(
            "DELETE FROM chunks WHERE file_id = (SELECT id FROM files WHERE path = ?)",
            [path_bytes(path)],
        )?;
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ranges_cover_children_only() {
        let (exact, lo, hi) = prefix_range(Path::new("/a/b"));
        assert_eq!(exact, b"/a/b");
        assert_eq!(lo, b"/a/b/");
        assert_eq!(hi, b"/a/b0");
        let child = path_bytes(Path::new("/a/b/c.txt"));
        let sibling = path_bytes(Path::new("/a/bc/d.txt"));
        assert!(child >= lo && child < hi);
        assert!(!(sibling >= lo && sibling < hi));
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_paths_round_trip() {
        use std::os::unix::ffi::OsStrExt;
        let raw = std::ffi::OsStr::from_bytes(b"/tmp/caf\xe9-notes.txt");
        let p = Path::new(raw);
        assert_eq!(bytes_path(path_bytes(p)), p);
    }

    #[test]
    fn migrates_a_version_1_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute_batch(
                "INSERT INTO folders VALUES (1, '/r', 0);
                 INSERT INTO files VALUES (1, 1, '/r/a.txt', 'txt', 3, 4, 'h', 'indexed', NULL, 'm/int8', 0);
                 INSERT INTO chunks(file_id, ordinal, text, start, end, line) VALUES (1, 0, 'hello', 0, 5, 1);
                 INSERT INTO vectors VALUES (1, 'm/int8', x'0000803f');",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let files = store.files_in_folder(1).unwrap();
        let row = &files[Path::new("/r/a.txt")];
        assert_eq!(row.status, FileStatus::Indexed);
        assert_eq!(store.counts().unwrap().chunks, 1);
        assert_eq!(store.vector_ids("m/int8").unwrap(), vec![1]);
        assert!(store.integrity_problems().unwrap().is_empty());
        assert_eq!(store.database_id().unwrap().len(), 32);
    }

    use crate::search::{self, parse_query, Keywords};
    use std::collections::HashSet;

    /// Adds one file with these passages (ids 1, 2, … in order) and, for the first passage, a sentence window
    /// whose text also holds 合同 (windows are never in the keyword index).
    fn insert_passages(conn: &Connection, passages: &[&str]) {
        conn.execute_batch(
            "INSERT INTO folders(id, path, added_at) VALUES (1, x'2f72', 0);
             INSERT INTO files(id, folder_id, path, ext, size, mtime_ns, status, indexed_at)
               VALUES (1, 1, x'2f722f612e747874', 'txt', 1, 1, 'indexed', 0);",
        )
        .unwrap();
        for (i, text) in passages.iter().enumerate() {
            conn.execute(
                "INSERT INTO chunks(id, file_id, ordinal, text, start, end, line) VALUES (?1, 1, ?2, ?3, 0, ?4, 1)",
                params![i as i64 + 1, i as i64, text, text.len() as i64],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO chunks(id, file_id, ordinal, text, start, end, line, parent)
             VALUES (1000, 1, 0, '合同 window', 0, 5, 1, 1)",
            [],
        )
        .unwrap();
    }

    /// Passage ids a keyword query finds, best first, as `Engine::search` asks FTS5.
    fn keyword(store: &Store, query: &str) -> Vec<i64> {
        let expr = search::fts_expression(&parse_query(query)).unwrap();
        store
            .fts(&expr, 20, &Filter::default())
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    /// What search shows highlighted for passage `id` and `query` (the index's tokenizer, as retrieval
    /// finds keywords in shown passages).
    fn marked(store: &Store, query: &str, id: i64) -> Vec<String> {
        let q = parse_query(query);
        let text = &store.chunks(&[id]).unwrap()[0].text;
        let tokenizer = store.keyword_tokenizer().unwrap();
        let found = Keywords::new(&q, &tokenizer)
            .unwrap()
            .find(text, &tokenizer)
            .unwrap();
        assert!(
            !found.ranges.is_empty(),
            "{query:?} must match passage {id}"
        );
        found
            .ranges
            .into_iter()
            .map(|(s, e)| text[s..e].to_string())
            .collect()
    }

    const CJK_PASSAGES: &[&str] = &[
        "本合同的提前终止条款需要提前九十天书面通知。",
        "東京都に住んでいます。",
        "新しいコンピューターを買いました",
        "서울에서 회의가 있습니다",
        "New iPhone手机 on sale",
        "The contracts were signed. Contrary to rumour, nothing changed.",
        "合作同意书",
    ];

    #[test]
    fn kept_counts_follow_inserts_status_changes_and_cascading_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("index.sqlite")).unwrap();
        let check = |expect: [u64; 8], int8: u64| {
            let c = store.counts().unwrap();
            let got = [
                c.folders,
                c.files,
                c.indexed_files,
                c.skipped_files,
                c.failed_files,
                c.passages,
                c.chunks,
                c.vectors,
            ];
            assert_eq!(got, expect);
            assert_eq!(store.counted().unwrap(), c, "kept = counted");
            assert_eq!(store.count_vectors("m/int8").unwrap(), int8);
            assert_eq!(store.count_chunks().unwrap(), c.chunks);
            assert!(store.integrity_problems().unwrap().is_empty());
        };
        check([0; 8], 0);
        store
            .conn
            .execute_batch(
                "INSERT INTO folders(id, path, added_at) VALUES (1, x'2f72', 0), (2, x'2f73', 0);
                 INSERT INTO files(id, folder_id, path, ext, size, mtime_ns, status, indexed_at) VALUES
                   (1, 1, x'2f722f61', 'txt', 1, 1, 'partial', 0),
                   (2, 1, x'2f722f62', 'png', 1, 1, 'skipped', 0),
                   (3, 2, x'2f732f63', 'pdf', 1, 1, 'failed', 0);
                 INSERT INTO chunks(id, file_id, ordinal, text, start, end, line, parent) VALUES
                   (1, 1, 0, 'alpha beta', 0, 10, 1, NULL),
                   (2, 1, 0, 'alpha', 0, 5, 1, 1),
                   (3, 1, 1, 'gamma', 11, 16, 2, NULL);
                 INSERT INTO vectors(chunk_id, model, vector) VALUES
                   (1, 'm/int8', x'00'), (2, 'm/int8', x'00'), (3, 'm/int8', x'00'), (1, 'other', x'00');",
            )
            .unwrap();
        check([2, 3, 1, 1, 1, 2, 3, 4], 3);
        // Status changes move a file between the counts; an ignored duplicate vector counts nothing.
        store
            .conn
            .execute_batch(
                "UPDATE files SET status = 'indexed' WHERE id = 1;
                 UPDATE files SET status = 'indexed' WHERE id = 3;
                 INSERT OR IGNORE INTO vectors(chunk_id, model, vector) VALUES (1, 'm/int8', x'01');",
            )
            .unwrap();
        check([2, 3, 2, 1, 0, 2, 3, 4], 3);
        // Removing a file removes its chunks and their vectors (cascades fire the children's triggers).
        store
            .conn
            .execute("DELETE FROM files WHERE id = 1", [])
            .unwrap();
        check([2, 2, 1, 1, 0, 0, 0, 0], 0);
        // Removing a folder removes its files.
        store
            .conn
            .execute("DELETE FROM folders WHERE id = 2", [])
            .unwrap();
        check([1, 1, 0, 1, 0, 0, 0, 0], 0);
        // A count that drifted (written around the triggers) is reported.
        store
            .conn
            .execute("UPDATE counts SET files = 7", [])
            .unwrap();
        assert!(store
            .integrity_problems()
            .unwrap()
            .iter()
            .any(|p| p.contains("kept counts")));
    }

    #[test]
    fn keyword_search_finds_cjk_words_inside_runs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("index.sqlite")).unwrap();
        insert_passages(&store.conn, CJK_PASSAGES);
        assert_eq!(
            keyword(&store, "合同"),
            vec![1],
            "not 合作同意, not the window"
        );
        assert_eq!(keyword(&store, "提前终止"), vec![1]);
        assert_eq!(keyword(&store, "東京"), vec![2]);
        assert_eq!(keyword(&store, "住んで"), vec![2]);
        assert_eq!(keyword(&store, "コンピューター"), vec![3]);
        assert_eq!(keyword(&store, "서울"), vec![4]);
        assert_eq!(keyword(&store, "회의"), vec![4]);
        assert_eq!(keyword(&store, "iphone"), vec![5]);
        assert_eq!(keyword(&store, "手机"), vec![5]);
        assert_eq!(keyword(&store, "iPhone手机"), vec![5]);
        // One character: found inside longer runs.
        let mut one = keyword(&store, "同");
        one.sort();
        assert_eq!(one, vec![1, 7]);
        assert_eq!(keyword(&store, "京"), vec![2]);
        // English is stemmed as before.
        assert_eq!(keyword(&store, "contract"), vec![6]);
        assert_eq!(keyword(&store, "signing"), vec![6]);
        assert!(keyword(&store, "大阪").is_empty());
        // A quoted CJK phrase must stand in a row; its bigrams rank.
        assert_eq!(keyword(&store, r#""终止条款""#), vec![1]);
        let q = parse_query(r#""合同意""#);
        assert!(store
            .fts(
                &search::phrase_expression(&q).unwrap(),
                20,
                &Filter::default()
            )
            .unwrap()
            .is_empty());
        // Every query term's IDF counts once in the ideal score, as FTS5 counts it (N = 7 passages).
        let ideal = store.ideal_bm25(&parse_query("合同").terms).unwrap();
        assert!((ideal - (6.5f64 / 1.5).ln()).abs() < 1e-9, "{ideal}");
        assert!(store.integrity_problems().unwrap().is_empty());
    }

    #[test]
    fn a_keyword_search_leaves_the_idfs_it_scored_with() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("index.sqlite")).unwrap();
        insert_passages(&store.conn, CJK_PASSAGES);
        let mut matched = 0;
        for query in [
            "合同",
            "contract signing",
            "contract 合同 nothingmatches",
            r#""终止条款" 合同"#,
            r#""contract signing""#,
            "nothingmatches",
        ] {
            let q = parse_query(query);
            let expr = search::fts_expression(&q).unwrap();
            let hits = store.fts(&expr, 20, &Filter::default()).unwrap();
            let idf = store.last_keyword_idf();
            if hits.is_empty() {
                assert!(idf.is_empty(), "{query}");
                continue;
            }
            matched += 1;
            // One per phrase, then one per word, as FTS5 counted them: the words' sum is the ideal score
            // counted word by word.
            assert_eq!(idf.len(), q.phrases.len() + q.terms.len(), "{query}");
            let ideal: f64 = idf[q.phrases.len()..].iter().sum();
            let counted = store.ideal_bm25(&q.terms).unwrap();
            assert!(
                (ideal - counted).abs() < 1e-9,
                "{query}: {ideal} vs {counted}"
            );
            // Taken: the next call has nothing unless another search scores.
            assert!(store.last_keyword_idf().is_empty());
        }
        assert_eq!(matched, 4);
    }

    #[test]
    fn highlights_cover_exactly_the_matched_cjk_characters() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("index.sqlite")).unwrap();
        insert_passages(&store.conn, CJK_PASSAGES);
        assert_eq!(marked(&store, "合同", 1), vec!["合同"]);
        // Adjacent and overlapping matched bigrams: one clean range.
        assert_eq!(marked(&store, "提前终止", 1), vec!["提前终止", "提前"]);
        assert_eq!(marked(&store, "终止条款 书面", 1), vec!["终止条款", "书面"]);
        assert_eq!(marked(&store, "東京", 2), vec!["東京"]);
        assert_eq!(marked(&store, "京", 2), vec!["京"]);
        assert_eq!(marked(&store, "同", 7), vec!["同"]);
        assert_eq!(marked(&store, "コンピューター", 3), vec!["コンピューター"]);
        assert_eq!(marked(&store, "회의", 4), vec!["회의"]);
        assert_eq!(marked(&store, "iphone", 5), vec!["iPhone"]);
        assert_eq!(marked(&store, "手机", 5), vec!["手机"]);
        // Stemmed forms, never look-alikes.
        assert_eq!(marked(&store, "contract", 6), vec!["contracts"]);
        // Byte ranges: 合同 is bytes 3..9 of 本合同….
        let tokenizer = store.keyword_tokenizer().unwrap();
        let q = parse_query("合同");
        let found = Keywords::new(&q, &tokenizer)
            .unwrap()
            .find(CJK_PASSAGES[0], &tokenizer)
            .unwrap();
        assert_eq!(found.ranges, vec![(3, 9)]);
    }

    /// Finding keywords in a passage with the index's tokenizer agrees with FTS5 itself, passage by
    /// passage: marks exactly where FTS5 matches the ranking expression, and "every word" exactly where
    /// it matches all terms and phrases (stems, CJK bigrams, single characters, phrases in a row).
    #[test]
    fn keywords_found_in_a_passage_agree_with_fts5() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("index.sqlite")).unwrap();
        insert_passages(&store.conn, CJK_PASSAGES);
        let tokenizer = store.keyword_tokenizer().unwrap();
        let fts5 = |expr: &str| -> HashSet<i64> {
            let mut stmt = store
                .conn
                .prepare("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?1")
                .unwrap();
            stmt.query_map([expr], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        let queries = [
            "合同",
            "提前 通知",
            "提前终止 九十天",
            "同",
            "京 住んで",
            "iPhone手机",
            "contract signing",
            "contracts rumour nothing",
            r#""终止条款" 书面"#,
            r#""合同意""#,
            r#""were signed" changed"#,
            "大阪",
        ];
        let mut matched_some = 0;
        let mut all_some = 0;
        for query in queries {
            let q = parse_query(query);
            let keywords = Keywords::new(&q, &tokenizer).unwrap();
            let any = fts5(&search::fts_expression(&q).unwrap());
            let every = q
                .terms
                .iter()
                .map(|t| format!("\"{t}\""))
                .chain(search::phrase_expression(&q))
                .collect::<Vec<_>>()
                .join(" AND ");
            let every = fts5(&every);
            for (i, text) in CJK_PASSAGES.iter().enumerate() {
                let id = i as i64 + 1;
                let found = keywords.find(text, &tokenizer).unwrap();
                assert_eq!(
                    !found.ranges.is_empty(),
                    any.contains(&id),
                    "{query:?} in {text:?}"
                );
                assert_eq!(found.all, every.contains(&id), "{query:?} in {text:?}");
                matched_some += usize::from(any.contains(&id));
                all_some += usize::from(every.contains(&id));
            }
        }
        // The comparison covered passages that match and passages that hold every word.
        assert!(
            matched_some >= 10 && all_some >= 6,
            "{matched_some} {all_some}"
        );
    }

    #[test]
    fn keyword_index_segments_are_merged_once_there_are_many() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("index.sqlite")).unwrap();
        // Every passage its own commit, and FTS5's own merging off: a segment per commit, as a long run of
        // large commits leaves dozens.
        store
            .conn
            .execute(
                "INSERT INTO chunks_fts(chunks_fts, rank) VALUES('automerge', 0)",
                [],
            )
            .unwrap();
        let texts: Vec<String> = (0..40)
            .map(|i| format!("passage {i} on contract terms, clause {}", i % 17))
            .collect();
        insert_passages(
            &store.conn,
            &texts.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let before = store.keyword_segments().unwrap();
        assert!(before > MAX_KEYWORD_SEGMENTS, "{before} segments");
        let found = keyword(&store, "clause 12 contract");
        assert_eq!(found.len(), 20, "{found:?}");
        assert!(store.compact_keywords().unwrap());
        assert_eq!(store.keyword_segments().unwrap(), 1);
        assert_eq!(keyword(&store, "clause 12 contract"), found);
        assert!(!store.compact_keywords().unwrap(), "nothing left to merge");
        // Small commits after the merge (edits, with FTS5's merging on as always) do not bring the whole
        // rewrite back.
        store
            .conn
            .execute(
                "INSERT INTO chunks_fts(chunks_fts, rank) VALUES('automerge', 4)",
                [],
            )
            .unwrap();
        for i in 0..50 {
            store
                .conn
                .execute(
                    "INSERT INTO chunks(file_id, ordinal, text, start, end, line) VALUES (1, ?1, 'later text', 0, 10, 1)",
                    [1000 + i],
                )
                .unwrap();
        }
        assert!(
            !store.compact_keywords().unwrap(),
            "{} segments",
            store.keyword_segments().unwrap()
        );
        assert!(store.integrity_problems().unwrap().is_empty());
    }

    #[test]
    fn migrates_f32_vectors_of_a_version_6_database_to_8_bits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        let dims = 384;
        // Two unit vectors, as version 6 stored them: little-endian f32.
        let vectors: Vec<Vec<f32>> = (0..2)
            .map(|k| {
                let mut v: Vec<f32> = (0..dims)
                    .map(|i| ((i * (k + 3)) as f32 * 0.37).sin())
                    .collect();
                crate::embed::normalize(&mut v);
                v
            })
            .collect();
        {
            let conn = Connection::open(&path).unwrap();
            crate::fts_tokenizer::register(&conn).unwrap();
            for sql in &MIGRATIONS[..6] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 6).unwrap();
            insert_passages(&conn, &["first", "second"]);
            for (id, v) in [1i64, 2].iter().zip(&vectors) {
                let blob: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                conn.execute(
                    "INSERT INTO vectors(chunk_id, model, vector) VALUES (?1, 'm/int8', ?2)",
                    params![id, blob],
                )
                .unwrap();
            }
        }
        let store = Store::open(&path).unwrap();
        let sizes: Vec<i64> = store
            .conn
            .prepare("SELECT length(vector) FROM vectors ORDER BY chunk_id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(sizes, vec![dims as i64; 2], "one byte per dimension");
        let back = store.vectors("m/int8", &[1, 2]).unwrap();
        assert_eq!(back.len(), 2);
        for ((id, got), want) in back.iter().zip(&vectors) {
            let cos = crate::embed::dot(got, want);
            assert!(cos > 0.999, "vector {id} moved: cosine {cos}");
        }
        // The two are different vectors, and stay different.
        assert!(crate::embed::dot(&back[0].1, &back[1].1) < 0.99);
        assert!(store.integrity_problems().unwrap().is_empty());
    }

    #[test]
    fn migrates_a_version_4_database_to_the_cjk_tokenizer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..4] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 4).unwrap();
            insert_passages(&conn, &["本合同的提前终止条款", "Contracts signed"]);
            // Under porter + unicode61 the whole run is one token: 合同 is not found.
            let n: i64 = conn
                .query_row(
                    "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH '\"合同\"'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 0);
        }
        let mut store = Store::open(&path).unwrap();
        let version: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        assert_eq!(keyword(&store, "合同"), vec![1], "found, the window is not");
        assert_eq!(keyword(&store, "contract"), vec![2]);
        assert!(store.integrity_problems().unwrap().is_empty());
        // The triggers survived the table's re-creation: new passages are indexed, windows are not, deleted
        // passages leave the index.
        let triggers: Vec<String> = store
            .conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'chunks_%' ORDER BY name",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(triggers, vec!["chunks_ad", "chunks_ai"]);
        store
            .conn
            .execute_batch(
                "INSERT INTO chunks(id, file_id, ordinal, text, start, end, line) VALUES (3, 1, 2, '東京都', 0, 9, 1);
                 INSERT INTO chunks(id, file_id, ordinal, text, start, end, line, parent)
                   VALUES (4, 1, 2, '東京', 0, 6, 1, 3);",
            )
            .unwrap();
        assert_eq!(keyword(&store, "東京"), vec![3]);
        store.delete_files(&[1]).unwrap();
        assert!(keyword(&store, "合同").is_empty());
        assert!(keyword(&store, "東京").is_empty());
        assert!(store.integrity_problems().unwrap().is_empty());
    }
}
