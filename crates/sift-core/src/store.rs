//! "Remember everything": the SQLite database (bundled SQLite, WAL) that is Sift's source of truth —
//! folders, files with their state, chunks with positions, vectors per model, and an FTS5 index over chunk
//! text. Every batch is one transaction, so a crash at any moment leaves a consistent database.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde::Serialize;

use crate::chunk::Chunk;
use crate::error::{Error, Result};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[r#"
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
"#];

/// Current schema version.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A folder (or single file) the user added.
#[derive(Debug, Clone, Serialize)]
pub struct Folder {
    pub id: i64,
    pub path: PathBuf,
}

/// What the database knows about one file.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub id: i64,
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    pub hash: Option<String>,
    pub status: String,
    pub model: Option<String>,
}

/// A file that was not indexed, and why.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemFile {
    pub path: PathBuf,
    /// `skipped` (not text, too large, ...) or `failed` (unreadable, corrupt).
    pub status: String,
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
    pub page: Option<usize>,
}

/// One indexed document to write: its file state, chunks and their vectors.
#[derive(Debug, Clone)]
pub struct DocumentWrite {
    pub folder_id: i64,
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    pub hash: String,
    pub chunks: Vec<Chunk>,
    pub vectors: Vec<Vec<f32>>,
}

/// Counts for `sift status`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub folders: u64,
    pub files: u64,
    pub indexed_files: u64,
    pub skipped_files: u64,
    pub failed_files: u64,
    pub chunks: u64,
    pub vectors: u64,
}

/// Restricts a search to some folders and/or file types.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub folders: Vec<PathBuf>,
    /// Lower-case extensions without the dot.
    pub kinds: Vec<String>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.folders.is_empty() && self.kinds.is_empty()
    }

    /// SQL condition on `f` (files) and its parameters.
    fn sql(&self) -> (String, Vec<String>) {
        let mut cond = Vec::new();
        let mut params = Vec::new();
        if !self.folders.is_empty() {
            let mut ors = Vec::new();
            for folder in &self.folders {
                let p = folder.to_string_lossy().into_owned();
                ors.push("(f.path = ? OR substr(f.path, 1, length(?) + 1) = ? || ?)".to_string());
                params.push(p.clone());
                params.push(p.clone());
                params.push(p);
                params.push(std::path::MAIN_SEPARATOR.to_string());
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
                    .map(|k| k.trim_start_matches('.').to_ascii_lowercase()),
            );
        }
        if cond.is_empty() {
            ("1".into(), params)
        } else {
            (cond.join(" AND "), params)
        }
    }
}

/// A connection to the database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Little-endian f32 blob <-> vector.
pub fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Inverse of [`vector_to_blob`].
pub fn blob_to_vector(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

impl Store {
    /// Opens (creating and migrating as needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate()?;
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
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
            tracing::info!(version = i + 1, "database migrated");
        }
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
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

    /// Writes a `meta` value.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    /// Adds a root. A root inside an existing root is already covered (the existing one is returned); a root
    /// that contains existing roots absorbs them.
    pub fn add_folder(&mut self, path: &Path) -> Result<Folder> {
        let folders = self.folders()?;
        if let Some(existing) = folders.iter().find(|f| path.starts_with(&f.path)) {
            return Ok(existing.clone());
        }
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO folders(path, added_at) VALUES (?1, ?2)",
            params![path_str(path), now_secs()],
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
        })
    }

    /// Removes a root and everything indexed under it; returns the removed chunk ids.
    pub fn remove_folder(&mut self, path: &Path) -> Result<Vec<i64>> {
        let tx = self.conn.transaction()?;
        let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM folders WHERE path = ?",
                [path_str(path)],
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

    /// All roots.
    pub fn folders(&self) -> Result<Vec<Folder>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, path FROM folders ORDER BY path")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Folder {
                    id: r.get(0)?,
                    path: PathBuf::from(r.get::<_, String>(1)?),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every file recorded under a root, by path.
    pub fn files_in_folder(&self, folder_id: i64) -> Result<HashMap<PathBuf, FileRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, path, size, mtime_ns, hash, status, model FROM files WHERE folder_id = ?",
        )?;
        let rows = stmt
            .query_map([folder_id], file_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows.into_iter().map(|r| (r.path.clone(), r)).collect())
    }

    /// One file's row.
    pub fn file(&self, path: &Path) -> Result<Option<FileRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, path, size, mtime_ns, hash, status, model FROM files WHERE path = ?",
                [path_str(path)],
                file_row,
            )
            .optional()?)
    }

    /// Deletes files (and their chunks and vectors) in one transaction; returns the removed chunk ids.
    pub fn delete_files(&mut self, file_ids: &[i64]) -> Result<Vec<i64>> {
        let tx = self.conn.transaction()?;
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
    pub fn record_problem(
        &mut self,
        folder_id: i64,
        path: &Path,
        size: u64,
        mtime_ns: i64,
        status: &str,
        reason: &str,
    ) -> Result<Vec<i64>> {
        let tx = self.conn.transaction()?;
        let removed = delete_chunks_of(&tx, path)?;
        tx.execute(
            "INSERT INTO files(folder_id, path, ext, size, mtime_ns, hash, status, reason, model, indexed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7, NULL, ?8)
             ON CONFLICT(path) DO UPDATE SET folder_id = excluded.folder_id, size = excluded.size,
               mtime_ns = excluded.mtime_ns, hash = NULL, status = excluded.status, reason = excluded.reason,
               model = NULL, indexed_at = excluded.indexed_at",
            params![
                folder_id,
                path_str(path),
                crate::extract::extension(path),
                size as i64,
                mtime_ns,
                status,
                reason,
                now_secs()
            ],
        )?;
        tx.commit()?;
        Ok(removed)
    }

    /// Updates size and mtime of a file whose content hash did not change (touched, copied back, ...).
    pub fn touch_file(&self, id: i64, size: u64, mtime_ns: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE files SET size = ?1, mtime_ns = ?2 WHERE id = ?3",
            params![size as i64, mtime_ns, id],
        )?;
        Ok(())
    }

    /// Writes indexed documents in one transaction: replaces each file's chunks and vectors.
    /// Returns (removed chunk ids, added (chunk id, vector index in the input) pairs per document).
    pub fn write_documents(
        &mut self,
        docs: &[DocumentWrite],
        model: &str,
    ) -> Result<(Vec<i64>, Vec<Vec<i64>>)> {
        let tx = self.conn.transaction()?;
        let mut removed = Vec::new();
        let mut added = Vec::with_capacity(docs.len());
        for doc in docs {
            removed.extend(delete_chunks_of(&tx, &doc.path)?);
            tx.execute(
                "INSERT INTO files(folder_id, path, ext, size, mtime_ns, hash, status, reason, model, indexed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'indexed', NULL, ?7, ?8)
                 ON CONFLICT(path) DO UPDATE SET folder_id = excluded.folder_id, size = excluded.size,
                   mtime_ns = excluded.mtime_ns, hash = excluded.hash, status = 'indexed', reason = NULL,
                   model = excluded.model, indexed_at = excluded.indexed_at",
                params![
                    doc.folder_id,
                    path_str(&doc.path),
                    crate::extract::extension(&doc.path),
                    doc.size as i64,
                    doc.mtime_ns,
                    doc.hash,
                    model,
                    now_secs()
                ],
            )?;
            let file_id: i64 = tx.query_row(
                "SELECT id FROM files WHERE path = ?",
                [path_str(&doc.path)],
                |r| r.get(0),
            )?;
            let mut ids = Vec::with_capacity(doc.chunks.len());
            {
                let mut ins = tx.prepare_cached(
                    "INSERT INTO chunks(file_id, ordinal, text, start, end, line, page) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                let mut vec_ins = tx.prepare_cached(
                    "INSERT INTO vectors(chunk_id, model, vector) VALUES (?1, ?2, ?3)",
                )?;
                for (ordinal, (chunk, vector)) in doc.chunks.iter().zip(&doc.vectors).enumerate() {
                    ins.execute(params![
                        file_id,
                        ordinal as i64,
                        chunk.text,
                        chunk.start as i64,
                        chunk.end as i64,
                        chunk.line as i64,
                        chunk.page.map(|p| p as i64)
                    ])?;
                    let chunk_id = tx.last_insert_rowid();
                    vec_ins.execute(params![chunk_id, model, vector_to_blob(vector)])?;
                    ids.push(chunk_id);
                }
            }
            added.push(ids);
        }
        tx.commit()?;
        Ok((removed, added))
    }

    /// Chunks by id with their files; ids that no longer exist are left out. Order follows `ids`.
    pub fn chunks(&self, ids: &[i64]) -> Result<Vec<ChunkRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT c.id, c.file_id, f.path, d.path, c.text, c.start, c.end, c.line, c.page
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
                    path: PathBuf::from(r.get::<_, String>(2)?),
                    folder: PathBuf::from(r.get::<_, String>(3)?),
                    text: r.get(4)?,
                    start: r.get::<_, i64>(5)? as usize,
                    end: r.get::<_, i64>(6)? as usize,
                    line: r.get::<_, i64>(7)? as usize,
                    page: r.get::<_, Option<i64>>(8)?.map(|p| p as usize),
                })
            })?
            .filter_map(|r| r.ok())
            .map(|c| (c.id, c))
            .collect();
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// Full-text search: chunk ids and BM25 scores (lower is better, as SQLite reports them), best first.
    pub fn fts(&self, match_expr: &str, limit: usize, filter: &Filter) -> Result<Vec<(i64, f64)>> {
        let (cond, fparams) = filter.sql();
        let sql = format!(
            "SELECT c.id, bm25(chunks_fts) AS score FROM chunks_fts
             JOIN chunks c ON c.id = chunks_fts.rowid JOIN files f ON f.id = c.file_id
             WHERE chunks_fts MATCH ? AND {cond} ORDER BY score LIMIT {limit}"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut all: Vec<String> = vec![match_expr.to_string()];
        all.extend(fparams);
        let rows = stmt
            .query_map(params_from_iter(all.iter()), |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Ids of chunks whose text matches an FTS expression (for exact-phrase restriction).
    pub fn fts_ids(&self, match_expr: &str) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?")?;
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
        let mut stmt = self
            .conn
            .prepare_cached("SELECT vector FROM vectors WHERE model = ?1 AND chunk_id = ?2")?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            if let Some(blob) = stmt
                .query_row(params![model, id], |r| r.get::<_, Vec<u8>>(0))
                .optional()?
            {
                out.push((id, blob_to_vector(&blob)));
            }
        }
        Ok(out)
    }

    /// Ids of all chunks that have a vector of `model`.
    pub fn vector_ids(&self, model: &str) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT chunk_id FROM vectors WHERE model = ? ORDER BY chunk_id")?;
        let rows = stmt
            .query_map([model], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Largest chunk id ever handed out (ids are never reused).
    pub fn max_chunk_id(&self) -> Result<i64> {
        let seq: Option<i64> = self
            .conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'chunks'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(seq.unwrap_or(0))
    }

    /// Counts for status displays.
    pub fn counts(&self) -> Result<Counts> {
        let one = |sql: &str| -> Result<u64> {
            Ok(self.conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
        };
        Ok(Counts {
            folders: one("SELECT count(*) FROM folders")?,
            files: one("SELECT count(*) FROM files")?,
            indexed_files: one("SELECT count(*) FROM files WHERE status = 'indexed'")?,
            skipped_files: one("SELECT count(*) FROM files WHERE status = 'skipped'")?,
            failed_files: one("SELECT count(*) FROM files WHERE status = 'failed'")?,
            chunks: one("SELECT count(*) FROM chunks")?,
            vectors: one("SELECT count(*) FROM vectors")?,
        })
    }

    /// Per-root counts: (files recorded, failed or skipped).
    pub fn folder_counts(&self, folder_id: i64) -> Result<(u64, u64)> {
        Ok(self.conn.query_row(
            "SELECT count(*), coalesce(sum(status != 'indexed'), 0) FROM files WHERE folder_id = ?",
            [folder_id],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
    }

    /// Files that were skipped or failed, optionally under one root.
    pub fn problem_files(&self, folder: Option<&Path>) -> Result<Vec<ProblemFile>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT f.path, f.status, coalesce(f.reason, '') FROM files f JOIN folders d ON d.id = f.folder_id
             WHERE f.status != 'indexed' AND (?1 IS NULL OR d.path = ?1) ORDER BY f.status, f.path",
        )?;
        let rows = stmt
            .query_map([folder.map(path_str)], |r| {
                Ok(ProblemFile {
                    path: PathBuf::from(r.get::<_, String>(0)?),
                    status: r.get(1)?,
                    reason: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Whether `path` is a file Sift has indexed (or recorded) — the only paths the app may open.
    pub fn is_known_file(&self, path: &Path) -> Result<bool> {
        Ok(self.file(path)?.is_some())
    }
}

fn file_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FileRow> {
    Ok(FileRow {
        id: r.get(0)?,
        path: PathBuf::from(r.get::<_, String>(1)?),
        size: r.get::<_, i64>(2)? as u64,
        mtime_ns: r.get(3)?,
        hash: r.get(4)?,
        status: r.get(5)?,
        model: r.get(6)?,
    })
}

fn delete_chunks_of(tx: &rusqlite::Transaction<'_>, path: &Path) -> Result<Vec<i64>> {
    let mut sel = tx.prepare_cached(
        "SELECT c.id FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.path = ?",
    )?;
    let ids = sel
        .query_map([path_str(path)], |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if !ids.is_empty() {
        tx.execute(
            "DELETE FROM chunks WHERE file_id = (SELECT id FROM files WHERE path = ?)",
            [path_str(path)],
        )?;
    }
    Ok(ids)
}
