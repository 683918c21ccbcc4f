//! "Score this passage for this keyword query": FTS5's BM25 (`bm25()`), computed exactly as FTS5 computes
//! it, registered on each connection as the FTS5 function `sift_rank`, with one difference: a passage's
//! length in tokens is kept in memory once read. `bm25()` reads it from `chunks_fts_docsize` for every
//! matching passage — a B-tree lookup per row, most of a keyword search's time, since FTS5 scores every
//! passage holding any query word (docs/BENCHMARKS.md).
//!
//! Invariant (what makes the cache exact): a passage's keyword length never changes for its id. Chunk ids
//! are `AUTOINCREMENT`, never reused; a chunk's text is never updated in place (a changed file's chunks are
//! deleted and inserted anew, `store.rs`); and the keyword index is re-created only by a migration, which
//! runs when a connection opens, before it searches. A test compares every score with `bm25()`'s.

use std::ffi::{c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use rusqlite::{ffi, Connection};

use crate::fts_tokenizer::{failure, fts5_api};

/// The SQL name: `sift_rank(chunks_fts)`, used like `bm25(chunks_fts)` (negative, best first).
pub(crate) const NAME: &CStr = c"sift_rank";

/// BM25's constants, as FTS5's `bm25()` has them.
const K1: f64 = 1.2;
const B: f64 = 0.75;
/// Passages beyond this id are scored without the cache (it is a plain array indexed by id).
const MAX_CACHED_ID: i64 = 1 << 26;

/// What a connection's `sift_rank` keeps between queries, shared with the [`crate::Store`] that owns the
/// connection.
pub(crate) struct RankState {
    /// Each passage's length in tokens by id (0: not read yet; a passage that matches a query has at least
    /// one token).
    lengths: Mutex<Vec<u32>>,
    /// Each phrase's IDF, in the query's phrase order, from the last query that scored a row: what FTS5
    /// counted to score it, so the caller need not count each word's passages again (for the score a
    /// passage holding each word once would get).
    last_idf: Mutex<Vec<f64>>,
}

impl RankState {
    /// The phrase IDFs of the last query that scored a row since the last call (empty if none did).
    pub(crate) fn take_idf(&self) -> Vec<f64> {
        std::mem::take(&mut *self.last_idf.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// What one query's scoring keeps between rows (FTS5 auxiliary data).
struct QueryData {
    avgdl: f64,
    idf: Vec<f64>,
    freq: Vec<f64>,
}

/// Registers `sift_rank` on `conn`; returns its state, for the IDFs of the last query.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<Arc<RankState>> {
    // SAFETY: the handle is only used for the duration of this call, on this thread, while `conn` (which
    // owns it) is borrowed, and only through SQLite's public API.
    let db = unsafe { conn.handle() };
    // SAFETY: `db` is a valid, open connection (see above).
    let api = unsafe { fts5_api(db)? };
    // SAFETY: `api` is non-null (checked by `fts5_api`) and lives as long as the connection.
    let Some(create) = (unsafe { (*api).xCreateFunction }) else {
        return Err(failure(
            ffi::SQLITE_ERROR,
            "this SQLite's FTS5 cannot register functions".into(),
        ));
    };
    let state = Arc::new(RankState {
        lengths: Mutex::new(Vec::new()),
        last_idf: Mutex::new(Vec::new()),
    });
    let user = Box::into_raw(Box::new(state.clone()));
    // SAFETY: valid API pointer and NUL-terminated name; FTS5 owns `user` from here and frees it with
    // `x_destroy` when the connection closes (or at once if registration fails).
    let rc = unsafe {
        create(
            api,
            NAME.as_ptr(),
            user.cast(),
            Some(x_rank),
            Some(x_destroy),
        )
    };
    if rc != ffi::SQLITE_OK {
        return Err(failure(rc, "registering the keyword ranking failed".into()));
    }
    Ok(state)
}

unsafe extern "C" fn x_destroy(user: *mut c_void) {
    if !user.is_null() {
        // SAFETY: `user` is the `Arc<RankState>` boxed in `register`; FTS5 calls this once.
        drop(unsafe { Box::from_raw(user.cast::<Arc<RankState>>()) });
    }
}

unsafe extern "C" fn x_destroy_query(data: *mut c_void) {
    if !data.is_null() {
        // SAFETY: `data` is the `QueryData` boxed in `query_data`; FTS5 calls this once per query.
        drop(unsafe { Box::from_raw(data.cast::<QueryData>()) });
    }
}

unsafe extern "C" fn x_count(
    _api: *const ffi::Fts5ExtensionApi,
    _fts: *mut ffi::Fts5Context,
    user: *mut c_void,
) -> c_int {
    // SAFETY: `user` is the `i64` counter `query_data` passed to xQueryPhrase, alive during that call.
    unsafe { *user.cast::<i64>() += 1 };
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_rank(
    api: *const ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    ctx: *mut ffi::sqlite3_context,
    _n_args: c_int,
    _args: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: FTS5 calls this with its API, the current row's context and the SQL function context.
    let scored = catch_unwind(AssertUnwindSafe(|| unsafe { score(api, fts) }));
    match scored {
        // SAFETY: `ctx` is the function context of this call.
        Ok(Ok(score)) => unsafe { ffi::sqlite3_result_double(ctx, -score) },
        Ok(Err(rc)) => unsafe { ffi::sqlite3_result_error_code(ctx, rc) },
        Err(_) => unsafe { ffi::sqlite3_result_error_code(ctx, ffi::SQLITE_ERROR) },
    }
}

/// Turns an FTS5 return code into a `Result`.
fn ok(rc: c_int) -> Result<(), c_int> {
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(rc)
    }
}

/// The current query's data, computed on its first row as `bm25()` computes it: the average length over
/// the table, and each phrase's IDF from the rows that hold it (also left in `state` for the caller).
///
/// # Safety
/// `api` and `fts` as given to an FTS5 function, during that call.
unsafe fn query_data<'a>(
    api: &ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    state: &RankState,
) -> Result<&'a mut QueryData, c_int> {
    let (get, set) = match (api.xGetAuxdata, api.xSetAuxdata) {
        (Some(get), Some(set)) => (get, set),
        _ => return Err(ffi::SQLITE_ERROR),
    };
    // SAFETY: valid context (caller); the auxiliary data, if set, is the `QueryData` boxed below.
    let found = unsafe { get(fts, 0) }.cast::<QueryData>();
    if !found.is_null() {
        // SAFETY: as above; FTS5 keeps it alive for the whole query and calls this function serially.
        return Ok(unsafe { &mut *found });
    }
    let (Some(phrase_count), Some(row_count), Some(total_size), Some(query_phrase)) = (
        api.xPhraseCount,
        api.xRowCount,
        api.xColumnTotalSize,
        api.xQueryPhrase,
    ) else {
        return Err(ffi::SQLITE_ERROR);
    };
    // SAFETY (all the calls below): valid API and context (caller), out-pointers to locals.
    let phrases = unsafe { phrase_count(fts) }.max(0);
    let (mut rows, mut tokens) = (0i64, 0i64);
    ok(unsafe { row_count(fts, &mut rows) })?;
    ok(unsafe { total_size(fts, -1, &mut tokens) })?;
    let mut idf = Vec::with_capacity(phrases as usize);
    for phrase in 0..phrases {
        let mut hits = 0i64;
        ok(unsafe { query_phrase(fts, phrase, (&raw mut hits).cast(), Some(x_count)) })?;
        let v = (((rows - hits) as f64) + 0.5) / (hits as f64 + 0.5);
        let v = v.ln();
        idf.push(if v <= 0.0 { 1e-6 } else { v });
    }
    state
        .last_idf
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone_from(&idf);
    let data = Box::into_raw(Box::new(QueryData {
        avgdl: tokens as f64 / rows as f64,
        freq: vec![0.0; idf.len()],
        idf,
    }));
    // SAFETY: FTS5 owns `data` from here and frees it with `x_destroy_query` (at once on failure).
    ok(unsafe { set(fts, data.cast(), Some(x_destroy_query)) })?;
    // SAFETY: just stored; alive for the whole query.
    Ok(unsafe { &mut *data })
}

/// The current row's BM25 score (positive; `x_rank` returns it negated, as `bm25()` does).
///
/// # Safety
/// `api` and `fts` as given to an FTS5 function, during that call.
unsafe fn score(
    api: *const ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
) -> Result<f64, c_int> {
    if api.is_null() || fts.is_null() {
        return Err(ffi::SQLITE_MISUSE);
    }
    // SAFETY: non-null, given by FTS5 for this call.
    let api = unsafe { &*api };
    let (Some(inst_count), Some(inst), Some(rowid), Some(column_size), Some(user_data)) = (
        api.xInstCount,
        api.xInst,
        api.xRowid,
        api.xColumnSize,
        api.xUserData,
    ) else {
        return Err(ffi::SQLITE_ERROR);
    };
    // SAFETY: the user data is the connection's `Arc<RankState>` (registered with this function), alive
    // while the connection is.
    let state: &RankState = unsafe { &*user_data(fts).cast::<Arc<RankState>>() };
    // SAFETY: as this function's contract.
    let data = unsafe { query_data(api, fts, state) }?;
    data.freq.iter_mut().for_each(|f| *f = 0.0);
    let mut n = 0;
    // SAFETY (the calls below): valid API and context, out-pointers to locals.
    ok(unsafe { inst_count(fts, &mut n) })?;
    for i in 0..n {
        let (mut phrase, mut column, mut offset) = (0, 0, 0);
        ok(unsafe { inst(fts, i, &mut phrase, &mut column, &mut offset) })?;
        if let Some(f) = usize::try_from(phrase)
            .ok()
            .and_then(|p| data.freq.get_mut(p))
        {
            *f += 1.0;
        }
    }
    let id = unsafe { rowid(fts) };
    let slot = usize::try_from(id)
        .ok()
        .filter(|_| (1..MAX_CACHED_ID).contains(&id));
    let cached = slot.and_then(|s| {
        state
            .lengths
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(s)
            .copied()
            .filter(|&n| n > 0)
    });
    let length = match cached {
        Some(n) => n,
        None => {
            let mut n = 0;
            ok(unsafe { column_size(fts, -1, &mut n) })?;
            let n = u32::try_from(n).unwrap_or(0);
            if let Some(s) = slot.filter(|_| n > 0) {
                let mut all = state.lengths.lock().unwrap_or_else(|e| e.into_inner());
                if all.len() <= s {
                    all.resize(s + 1, 0);
                }
                all[s] = n;
            }
            n
        }
    };
    let d = f64::from(length);
    // The same operations in the same order as FTS5's bm25(), so the scores are the same doubles.
    let mut score = 0.0;
    for (idf, &f) in data.idf.iter().zip(&data.freq) {
        score += idf * ((f * (K1 + 1.0)) / (f + K1 * (1.0 - B + B * d / data.avgdl)));
    }
    Ok(score)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every matching row's `sift_rank` and `bm25()`, by rowid.
    fn both(conn: &Connection, query: &str) -> Vec<(i64, f64, f64)> {
        let mut stmt = conn
            .prepare("SELECT rowid, sift_rank(t), bm25(t) FROM t WHERE t MATCH ?1 ORDER BY rowid")
            .unwrap();
        stmt.query_map([query], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap()
    }

    #[test]
    fn scores_are_fts5_bm25_exactly_before_and_after_rows_change() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        conn.execute_batch("CREATE VIRTUAL TABLE t USING fts5(text)")
            .unwrap();
        let words = [
            "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
        ];
        let mut seed = 17u64;
        let mut next = move |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        let doc = |next: &mut dyn FnMut(u64) -> u64| -> String {
            // Lengths 1..60, words skewed towards the first ones (common and rare terms).
            let len = 1 + next(60);
            (0..len)
                .map(|_| words[(next(10) * next(10) / 9) as usize])
                .collect::<Vec<_>>()
                .join(" ")
        };
        let insert = |conn: &Connection, id: i64, next: &mut dyn FnMut(u64) -> u64| {
            conn.execute(
                "INSERT INTO t(rowid, text) VALUES (?1, ?2)",
                (id, doc(next)),
            )
            .unwrap();
        };
        for id in 1..=300 {
            insert(&conn, id, &mut next);
        }
        let queries = [
            "alpha",
            "kappa OR iota",
            "beta OR theta OR zeta",
            "\"alpha beta\" OR kappa",
        ];
        let check = |conn: &Connection| {
            let mut rows = 0;
            for q in queries {
                for (id, ours, fts5) in both(conn, q) {
                    assert_eq!(ours, fts5, "row {id}, query {q}");
                    assert!(ours < 0.0);
                    rows += 1;
                }
            }
            assert!(rows > 300, "{rows} rows compared");
        };
        check(&conn);
        // Twice: the second time every length comes from memory.
        check(&conn);
        // Rows deleted and new ones added (ids never reused): scores still agree, with the new lengths and
        // the table's new statistics.
        conn.execute("DELETE FROM t WHERE rowid % 3 = 0", [])
            .unwrap();
        for id in 301..=450 {
            insert(&conn, id, &mut next);
        }
        check(&conn);
        // The ranking query the store runs: best first, the same order as bm25().
        let order = |f: &str| -> Vec<i64> {
            conn.prepare(&format!(
                "SELECT rowid FROM t WHERE t MATCH 'kappa OR iota' ORDER BY {f}(t), rowid LIMIT 20"
            ))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<Vec<i64>>>()
            .unwrap()
        };
        assert_eq!(order("sift_rank"), order("bm25"));
        assert_eq!(order("sift_rank").len(), 20);
    }
}
