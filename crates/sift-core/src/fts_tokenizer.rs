//! "Cut text into keyword-index tokens": the FTS5 tokenizer `sift` that `chunks_fts` uses, for documents
//! and queries alike.
//!
//! It wraps FTS5's own `porter unicode61 remove_diacritics 2` (case folding, diacritics removed, English
//! stemming: "contracts" is "contract", "contrary" is not) and adds what unicode61 lacks for scripts written
//! without spaces: unicode61 makes a whole run of Chinese, Japanese or Korean characters one token, so 合同
//! would never find 本合同的提前终止条款. Here the text is cut into CJK runs ([`is_cjk`]) and the rest; the rest
//! goes through porter exactly as before, each CJK run becomes overlapping character bigrams (本合 合同 同的 …;
//! a run of one character stays that character), as Lucene's CJK analyzer does. A query string is cut the
//! same way, and FTS5 matches the tokens of one quoted string as a phrase, so a CJK word is found wherever
//! its characters stand in a row. Documents also get each CJK character as a token colocated with its bigram
//! (same position, so phrases are unaffected): a one-character query finds the character inside a longer
//! run. Every token carries the byte range of the characters it came from, so `highlight()` marks them.
//!
//! Every connection must [`register`] the tokenizer before it touches `chunks_fts` (`Store::open` does, for
//! every connection Sift opens): a connection without it cannot read the table nor write `chunks`, whose
//! triggers update it. [`Tokenizer`] runs the same code outside any query: search marks the shown passages
//! and checks which hold every word with it, cutting text exactly as the index did. All of Sift's FFI to
//! FTS5 is in this module.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use rusqlite::ffi;
use rusqlite::Connection;

/// The name `chunks_fts` is created with (`tokenize='sift'`).
const NAME: &CStr = c"sift";
/// The wrapped tokenizer and its arguments: Porter stemming over unicode61 with diacritics removed.
const INNER: &CStr = c"porter";
const INNER_ARGS: [&CStr; 3] = [c"unicode61", c"remove_diacritics", c"2"];

/// Whether `c` is a letter of a script written without spaces between words, which the tokenizer cuts into
/// bigrams: Han ideographs (unified, extension A and later, compatibility, the iteration mark 々), Hiragana,
/// Katakana (with its prolonged sound mark and halfwidth forms), Hangul syllables and jamo. Punctuation of
/// these scripts (、。「」・) is not: it separates words as any punctuation does.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3005..=0x3007          // 々 〆 〇
        | 0x3041..=0x309A        // Hiragana and combining (semi-)voiced marks
        | 0x309D..=0x309F        // Hiragana iteration marks, ゟ
        | 0x30A1..=0x30FA        // Katakana
        | 0x30FC..=0x30FF        // ー, iteration marks, ヿ
        | 0x31F0..=0x31FF        // Katakana phonetic extensions
        | 0x3400..=0x4DBF        // CJK extension A
        | 0x4E00..=0x9FFF        // CJK unified ideographs
        | 0xF900..=0xFAFF        // CJK compatibility ideographs
        | 0xFF66..=0xFF9F        // Halfwidth Katakana
        | 0x1100..=0x11FF        // Hangul jamo
        | 0x3131..=0x318E        // Hangul compatibility jamo
        | 0xA960..=0xA97F        // Hangul jamo extended A
        | 0xAC00..=0xD7A3        // Hangul syllables
        | 0xD7B0..=0xD7FF        // Hangul jamo extended B
        | 0x20000..=0x323AF      // CJK extensions B–H, compatibility supplement
    )
}

/// One token of a CJK run: a bigram, or a single character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gram<'a> {
    pub text: &'a str,
    /// Byte range in the text the run came from.
    pub start: usize,
    pub end: usize,
    /// At the same position as the token before it (a document's single characters).
    pub colocated: bool,
}

/// The tokens of one CJK run that starts at byte `base` of its text: overlapping bigrams (a one-character
/// run is that character). With `document`, each bigram is followed by its first character, and the last
/// bigram also by its second one, colocated, so a one-character query matches anywhere in the run.
pub(crate) fn grams(run: &str, base: usize, document: bool) -> Vec<Gram<'_>> {
    let bounds: Vec<usize> = run
        .char_indices()
        .map(|(i, _)| i)
        .chain([run.len()])
        .collect();
    let chars = bounds.len() - 1;
    let gram = |from: usize, to: usize, colocated: bool| Gram {
        text: &run[bounds[from]..bounds[to]],
        start: base + bounds[from],
        end: base + bounds[to],
        colocated,
    };
    match chars {
        0 => Vec::new(),
        1 => vec![gram(0, 1, false)],
        _ => {
            let mut out = Vec::with_capacity(if document { 3 * chars } else { chars });
            for i in 0..chars - 1 {
                out.push(gram(i, i + 2, false));
                if document {
                    out.push(gram(i, i + 1, true));
                    if i + 2 == chars {
                        out.push(gram(i + 1, i + 2, true));
                    }
                }
            }
            out
        }
    }
}

/// A stretch of text the tokenizer treats one way: a CJK run, or anything else (given to porter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment<'a> {
    Cjk { run: &'a str, start: usize },
    Other(Range<usize>),
}

/// Cuts `bytes` into CJK runs and the stretches between them, in order. Bytes that are not UTF-8 belong to
/// the stretches between (unicode61 deals with them as it always did).
pub(crate) fn segments(bytes: &[u8]) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut other_from: Option<usize> = None;
    let mut at = 0usize;
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        let mut run_from: Option<usize> = None;
        for (i, c) in valid.char_indices() {
            if is_cjk(c) {
                if run_from.is_none() {
                    if let Some(from) = other_from.take() {
                        out.push(Segment::Other(from..at + i));
                    }
                    run_from = Some(i);
                }
            } else {
                if let Some(r) = run_from.take() {
                    out.push(Segment::Cjk {
                        run: &valid[r..i],
                        start: at + r,
                    });
                }
                other_from.get_or_insert(at + i);
            }
        }
        if let Some(r) = run_from {
            out.push(Segment::Cjk {
                run: &valid[r..],
                start: at + r,
            });
        }
        at += valid.len();
        if !chunk.invalid().is_empty() {
            other_from.get_or_insert(at);
            at += chunk.invalid().len();
        }
    }
    if let Some(from) = other_from {
        out.push(Segment::Other(from..at));
    }
    out
}

/// Registers the `sift` tokenizer on `conn`. Must run before the connection touches `chunks_fts`.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    // SAFETY: the handle is only used for the duration of this call, on this thread, while `conn` (which
    // owns it) is borrowed, and only through SQLite's public API.
    let db = unsafe { conn.handle() };
    // SAFETY: `db` is a valid, open connection (see above).
    let api = unsafe { fts5_api(db)? };
    // SAFETY: `api` was just returned by SQLite for this connection and is non-null (checked by `fts5_api`);
    // it lives as long as the connection.
    let version = unsafe { (*api).iVersion };
    // SAFETY: as above.
    let create = match unsafe { (*api).xCreateTokenizer_v2 } {
        Some(f) if version >= 3 => f,
        _ => {
            return Err(failure(
                ffi::SQLITE_ERROR,
                format!("this SQLite's FTS5 is too old (API version {version}, need 3)"),
            ))
        }
    };
    let mut module = ffi::fts5_tokenizer_v2 {
        iVersion: 2,
        xCreate: Some(x_create),
        xDelete: Some(x_delete),
        xTokenize: Some(x_tokenize),
    };
    // SAFETY: FTS5 copies `module` before returning. The user data is the `fts5_api` itself, which
    // `x_create` uses to find porter; it is owned by the connection and outlives every tokenizer FTS5 makes
    // for it, so nothing is freed on destroy.
    let rc = unsafe { create(api, NAME.as_ptr(), api.cast(), &mut module, None) };
    if rc != ffi::SQLITE_OK {
        return Err(failure(rc, "registering the FTS5 tokenizer failed".into()));
    }
    Ok(())
}

/// A token as the keyword index cuts text: its indexed form (case-folded, stemmed; a CJK bigram or
/// character) and the bytes it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub text: String,
    pub start: usize,
    pub end: usize,
    /// At the same position as the token before it (a document's single CJK characters).
    pub colocated: bool,
}

/// The `sift` tokenizer called directly, outside any query: cuts text exactly as `chunks_fts` does (the
/// same code, on the connection's own porter), so what it finds in a passage is what FTS5 would match
/// there, without a query per passage.
pub(crate) struct Tokenizer<'c> {
    instance: *mut ffi::Fts5Tokenizer,
    _conn: std::marker::PhantomData<&'c Connection>,
}

impl<'c> Tokenizer<'c> {
    /// A tokenizer instance for `conn`, which has [`register`]ed the tokenizer.
    pub(crate) fn new(conn: &'c Connection) -> rusqlite::Result<Tokenizer<'c>> {
        // SAFETY: the handle is used only while `conn` is borrowed (for `'c`), on this thread (the
        // tokenizer is neither `Send` nor `Sync`: it holds a raw pointer), through SQLite's public API.
        let db = unsafe { conn.handle() };
        // SAFETY: `db` is a valid, open connection (see above).
        let api = unsafe { fts5_api(db)? };
        let mut instance: *mut ffi::Fts5Tokenizer = ptr::null_mut();
        // SAFETY: `x_create` with the user data FTS5 would give it (the connection's `fts5_api`, alive
        // while the connection is), no arguments, and an out-pointer to a local.
        let rc = unsafe { x_create(api.cast(), ptr::null_mut(), 0, &mut instance) };
        if rc != ffi::SQLITE_OK || instance.is_null() {
            return Err(failure(rc, "creating the keyword tokenizer failed".into()));
        }
        Ok(Tokenizer {
            instance,
            _conn: std::marker::PhantomData,
        })
    }

    /// The tokens a document's text is indexed as, single CJK characters included.
    pub(crate) fn document(&self, text: &str) -> rusqlite::Result<Vec<Token>> {
        self.tokenize(text, ffi::FTS5_TOKENIZE_DOCUMENT)
    }

    /// The tokens a quoted query string is cut into (FTS5 matches them as a phrase).
    pub(crate) fn query(&self, text: &str) -> rusqlite::Result<Vec<Token>> {
        self.tokenize(text, ffi::FTS5_TOKENIZE_QUERY)
    }

    fn tokenize(&self, text: &str, flags: c_int) -> rusqlite::Result<Vec<Token>> {
        let mut out: Vec<Token> = Vec::new();
        let Ok(n) = c_int::try_from(text.len()) else {
            return Err(failure(
                ffi::SQLITE_TOOBIG,
                "text too long to tokenize".into(),
            ));
        };
        // SAFETY: our own tokenize function on an instance `x_create` made (deleted only on drop), over
        // `n` readable bytes of `text`, with `out` as the context `collect` expects, alive for the call.
        let rc = unsafe {
            x_tokenize(
                self.instance,
                (&raw mut out).cast(),
                flags,
                text.as_ptr().cast(),
                n,
                ptr::null(),
                0,
                Some(collect),
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(failure(rc, "tokenizing text for keywords failed".into()));
        }
        Ok(out)
    }
}

impl Drop for Tokenizer<'_> {
    fn drop(&mut self) {
        // SAFETY: the instance `x_create` made in `new`, deleted exactly once, here.
        unsafe { x_delete(self.instance) };
    }
}

/// Collects the tokens [`Tokenizer::tokenize`] asks for.
unsafe extern "C" fn collect(
    ctx: *mut c_void,
    flags: c_int,
    token: *const c_char,
    n_token: c_int,
    start: c_int,
    end: c_int,
) -> c_int {
    guard(|| {
        let (Ok(n), Ok(start), Ok(end)) = (
            usize::try_from(n_token),
            usize::try_from(start),
            usize::try_from(end),
        ) else {
            return ffi::SQLITE_ERROR;
        };
        if ctx.is_null() || (token.is_null() && n > 0) {
            return ffi::SQLITE_MISUSE;
        }
        // SAFETY: `ctx` is the `Vec<Token>` `tokenize` passed, alive and not otherwise borrowed during the
        // call; the tokenizer hands `n` readable bytes at `token`, valid for this callback.
        let (out, bytes) = unsafe {
            (
                &mut *ctx.cast::<Vec<Token>>(),
                if n == 0 {
                    &[][..]
                } else {
                    std::slice::from_raw_parts(token.cast::<u8>(), n)
                },
            )
        };
        out.push(Token {
            text: String::from_utf8_lossy(bytes).into_owned(),
            start,
            end,
            colocated: flags & ffi::FTS5_TOKEN_COLOCATED != 0,
        });
        ffi::SQLITE_OK
    })
}

pub(crate) fn failure(rc: c_int, message: String) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(ffi::Error::new(rc), Some(message))
}

/// The connection's `fts5_api`, as its documentation says to get it: `SELECT fts5(?1)` with a pointer bound.
///
/// # Safety
/// `db` must be a valid open connection used by this thread only during the call.
pub(crate) unsafe fn fts5_api(db: *mut ffi::sqlite3) -> rusqlite::Result<*mut ffi::fts5_api> {
    let mut stmt: *mut ffi::sqlite3_stmt = ptr::null_mut();
    // SAFETY: `db` is valid (caller); the SQL is a NUL-terminated constant; `stmt` receives the statement.
    let mut rc = unsafe {
        ffi::sqlite3_prepare_v2(
            db,
            c"SELECT fts5(?1)".as_ptr(),
            -1,
            &mut stmt,
            ptr::null_mut(),
        )
    };
    let mut api: *mut ffi::fts5_api = ptr::null_mut();
    if rc == ffi::SQLITE_OK {
        // SAFETY: `stmt` was prepared above; the bound pointer is `api`'s address, which outlives the
        // statement (finalized below), and the type string is a static NUL-terminated constant.
        rc = unsafe {
            ffi::sqlite3_bind_pointer(
                stmt,
                1,
                (&raw mut api).cast(),
                c"fts5_api_ptr".as_ptr(),
                None,
            )
        };
        if rc == ffi::SQLITE_OK {
            // SAFETY: a prepared statement with its parameter bound; fts5() writes the API pointer to `api`.
            rc = unsafe { ffi::sqlite3_step(stmt) };
        }
    }
    let message = if matches!(rc, ffi::SQLITE_OK | ffi::SQLITE_ROW) {
        None
    } else {
        // SAFETY: `db` is valid; sqlite3_errmsg returns a NUL-terminated string owned by SQLite that stays
        // valid until the next call on the connection, and it is copied at once.
        Some(
            unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db)) }
                .to_string_lossy()
                .into_owned(),
        )
    };
    // SAFETY: finalizing a statement prepared above (or null, a no-op) exactly once.
    unsafe { ffi::sqlite3_finalize(stmt) };
    if let Some(message) = message {
        return Err(failure(rc, format!("finding FTS5: {message}")));
    }
    if api.is_null() {
        return Err(failure(ffi::SQLITE_ERROR, "this SQLite has no FTS5".into()));
    }
    Ok(api)
}

/// A `sift` tokenizer instance: the porter instance it wraps.
struct Sift {
    porter: ffi::fts5_tokenizer_v2,
    inner: *mut ffi::Fts5Tokenizer,
}

/// Runs an FTS5 callback's body; a panic becomes `SQLITE_ERROR` instead of unwinding into SQLite.
fn guard(body: impl FnOnce() -> c_int) -> c_int {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(ffi::SQLITE_ERROR)
}

unsafe extern "C" fn x_create(
    user: *mut c_void,
    _args: *mut *const c_char,
    n_args: c_int,
    out: *mut *mut ffi::Fts5Tokenizer,
) -> c_int {
    guard(|| {
        if out.is_null() || user.is_null() {
            return ffi::SQLITE_MISUSE;
        }
        if n_args != 0 {
            // `tokenize='sift'` takes no arguments: what it wraps is fixed.
            return ffi::SQLITE_ERROR;
        }
        let api: *mut ffi::fts5_api = user.cast();
        // SAFETY: `user` is the connection's `fts5_api` given at registration, alive while the connection is.
        let Some(find) = (unsafe { (*api).xFindTokenizer_v2 }) else {
            return ffi::SQLITE_ERROR;
        };
        let mut porter_data: *mut c_void = ptr::null_mut();
        let mut porter: *mut ffi::fts5_tokenizer_v2 = ptr::null_mut();
        // SAFETY: valid API pointer, NUL-terminated name, out-pointers to locals.
        let rc = unsafe { find(api, INNER.as_ptr(), &mut porter_data, &mut porter) };
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        if porter.is_null() {
            return ffi::SQLITE_ERROR;
        }
        // SAFETY: FTS5 returned a pointer to its registered porter module, valid while the connection is;
        // the struct is plain function pointers and is copied.
        let porter = unsafe { *porter };
        let Some(create) = porter.xCreate else {
            return ffi::SQLITE_ERROR;
        };
        let mut args: [*const c_char; 3] = INNER_ARGS.map(CStr::as_ptr);
        let mut inner: *mut ffi::Fts5Tokenizer = ptr::null_mut();
        // SAFETY: porter's own create function with its user data, static NUL-terminated arguments (porter
        // reads them during the call only) and an out-pointer to a local.
        let rc = unsafe { create(porter_data, args.as_mut_ptr(), 3, &mut inner) };
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        let tokenizer = Box::new(Sift { porter, inner });
        // SAFETY: `out` is non-null (checked) and FTS5's to write; the box is reclaimed by `x_delete`.
        unsafe { *out = Box::into_raw(tokenizer).cast() };
        ffi::SQLITE_OK
    })
}

unsafe extern "C" fn x_delete(tokenizer: *mut ffi::Fts5Tokenizer) {
    guard(|| {
        if tokenizer.is_null() {
            return ffi::SQLITE_OK;
        }
        // SAFETY: every tokenizer FTS5 deletes was made by `x_create` with `Box::into_raw`, and FTS5 deletes
        // each exactly once.
        let tokenizer = unsafe { Box::from_raw(tokenizer.cast::<Sift>()) };
        if let Some(delete) = tokenizer.porter.xDelete {
            // SAFETY: the porter instance this tokenizer created, deleted once, by porter's own function.
            unsafe { delete(tokenizer.inner) };
        }
        ffi::SQLITE_OK
    });
}

type TokenCallback = unsafe extern "C" fn(
    ctx: *mut c_void,
    flags: c_int,
    token: *const c_char,
    n_token: c_int,
    start: c_int,
    end: c_int,
) -> c_int;

/// What porter's tokens are handed on to: FTS5's callback, with offsets moved from the stretch porter saw to
/// the whole text.
struct Forward {
    ctx: *mut c_void,
    x_token: TokenCallback,
    offset: c_int,
    /// What FTS5's callback returned when it asked to stop.
    stopped: c_int,
}

#[allow(clippy::too_many_arguments)] // FTS5's signature
unsafe extern "C" fn x_tokenize(
    tokenizer: *mut ffi::Fts5Tokenizer,
    ctx: *mut c_void,
    flags: c_int,
    text: *const c_char,
    n_text: c_int,
    locale: *const c_char,
    n_locale: c_int,
    x_token: Option<TokenCallback>,
) -> c_int {
    guard(|| {
        let Some(x_token) = x_token else {
            return ffi::SQLITE_MISUSE;
        };
        if tokenizer.is_null() {
            return ffi::SQLITE_MISUSE;
        }
        // SAFETY: made by `x_create` and not yet deleted (FTS5 owns its lifetime).
        let sift = unsafe { &*tokenizer.cast::<Sift>() };
        let Some(porter_tokenize) = sift.porter.xTokenize else {
            return ffi::SQLITE_ERROR;
        };
        let bytes: &[u8] = match usize::try_from(n_text) {
            // SAFETY: FTS5 passes `n_text` readable bytes at `text`, valid for this call.
            Ok(n) if n > 0 && !text.is_null() => unsafe {
                std::slice::from_raw_parts(text.cast::<u8>(), n)
            },
            _ => &[],
        };
        let document = flags & ffi::FTS5_TOKENIZE_DOCUMENT != 0;
        for segment in segments(bytes) {
            let rc = match segment {
                Segment::Other(range) => {
                    let (Ok(offset), Ok(len)) =
                        (c_int::try_from(range.start), c_int::try_from(range.len()))
                    else {
                        return ffi::SQLITE_ERROR;
                    };
                    let mut forward = Forward {
                        ctx,
                        x_token,
                        offset,
                        stopped: ffi::SQLITE_OK,
                    };
                    // SAFETY: porter's tokenize on its own instance, over a sub-slice of the text FTS5 gave
                    // (in bounds: `segments` ranges lie within `bytes`), with the locale FTS5 gave and a
                    // context that outlives the call.
                    let rc = unsafe {
                        porter_tokenize(
                            sift.inner,
                            (&raw mut forward).cast(),
                            flags,
                            text.add(range.start),
                            len,
                            locale,
                            n_locale,
                            Some(forward_token),
                        )
                    };
                    if forward.stopped != ffi::SQLITE_OK {
                        forward.stopped
                    } else {
                        rc
                    }
                }
                Segment::Cjk { run, start } => {
                    let mut rc = ffi::SQLITE_OK;
                    for g in grams(run, start, document) {
                        let (Ok(n), Ok(s), Ok(e)) = (
                            c_int::try_from(g.text.len()),
                            c_int::try_from(g.start),
                            c_int::try_from(g.end),
                        ) else {
                            return ffi::SQLITE_ERROR;
                        };
                        let tflags = if g.colocated {
                            ffi::FTS5_TOKEN_COLOCATED
                        } else {
                            0
                        };
                        // SAFETY: FTS5's callback with its own context; the token points into the text
                        // FTS5 gave, `n` bytes long, valid for the call.
                        rc = unsafe { x_token(ctx, tflags, g.text.as_ptr().cast(), n, s, e) };
                        if rc != ffi::SQLITE_OK {
                            break;
                        }
                    }
                    rc
                }
            };
            if rc != ffi::SQLITE_OK {
                // SQLITE_DONE asks to stop early and is not an error (as unicode61 treats it).
                return if rc == ffi::SQLITE_DONE {
                    ffi::SQLITE_OK
                } else {
                    rc
                };
            }
        }
        ffi::SQLITE_OK
    })
}

unsafe extern "C" fn forward_token(
    ctx: *mut c_void,
    flags: c_int,
    token: *const c_char,
    n_token: c_int,
    start: c_int,
    end: c_int,
) -> c_int {
    guard(|| {
        if ctx.is_null() {
            return ffi::SQLITE_MISUSE;
        }
        // SAFETY: `ctx` is the `Forward` that `x_tokenize` passed to porter for this call.
        let forward = unsafe { &mut *ctx.cast::<Forward>() };
        let (Some(start), Some(end)) = (
            start.checked_add(forward.offset),
            end.checked_add(forward.offset),
        ) else {
            return ffi::SQLITE_ERROR;
        };
        // SAFETY: FTS5's callback with its own context and the token porter produced, valid for the call.
        let rc = unsafe { (forward.x_token)(forward.ctx, flags, token, n_token, start, end) };
        if rc != ffi::SQLITE_OK {
            forward.stopped = rc;
        }
        rc
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(gs: &[Gram<'_>]) -> Vec<(String, bool)> {
        gs.iter()
            .map(|g| (g.text.to_string(), g.colocated))
            .collect()
    }

    #[test]
    fn cjk_letters_not_punctuation() {
        for c in [
            '合', '東', 'に', 'ン', 'ー', '々', 'ｶ', '한', 'ᄀ', '㐀', '𠀋',
        ] {
            assert!(is_cjk(c), "{c}");
        }
        for c in ['a', 'é', '1', '、', '。', '・', '「', ' ', '　', 'Ａ', '!'] {
            assert!(!is_cjk(c), "{c:?}");
        }
    }

    #[test]
    fn runs_become_bigrams_with_byte_ranges() {
        let q = grams("合同条款", 3, false);
        assert_eq!(
            q.iter()
                .map(|g| (g.text, g.start, g.end))
                .collect::<Vec<_>>(),
            vec![("合同", 3, 9), ("同条", 6, 12), ("条款", 9, 15)]
        );
        assert_eq!(texts(&grams("猫", 0, false)), vec![("猫".into(), false)]);
        assert_eq!(texts(&grams("猫", 0, true)), vec![("猫".into(), false)]);
        assert!(grams("", 0, true).is_empty());
        // Documents: every character colocated with a bigram.
        let d = grams("東京都", 0, true);
        assert_eq!(
            texts(&d),
            vec![
                ("東京".into(), false),
                ("東".into(), true),
                ("京都".into(), false),
                ("京".into(), true),
                ("都".into(), true),
            ]
        );
    }

    #[test]
    fn segments_split_mixed_text_and_keep_invalid_bytes_with_the_rest() {
        let text = "iPhone手机 and 東京";
        let segs = segments(text.as_bytes());
        assert_eq!(
            segs,
            vec![
                Segment::Other(0..6),
                Segment::Cjk {
                    run: "手机",
                    start: 6
                },
                Segment::Other(12..17),
                Segment::Cjk {
                    run: "東京",
                    start: 17
                },
            ]
        );
        let bytes = b"ab\xff\xfe\xe5\x90\x88\xe5\x90\x8c cd";
        assert_eq!(
            segments(bytes),
            vec![
                Segment::Other(0..4),
                Segment::Cjk {
                    run: "合同",
                    start: 4
                },
                Segment::Other(10..13),
            ]
        );
        assert!(segments(b"").is_empty());
    }

    /// The tokens FTS5 stores for `text`, as (term, position) in position order, read back through
    /// `fts5vocab`: what the real tokenizer produced inside SQLite.
    fn indexed(text: &str) -> Vec<(String, i64)> {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5(x, tokenize='sift');
             CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance');",
        )
        .unwrap();
        conn.execute("INSERT INTO t(x) VALUES (?1)", [text])
            .unwrap();
        let mut stmt = conn
            .prepare("SELECT term, offset FROM v ORDER BY offset, term")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn sqlite_stores_bigrams_colocated_characters_and_stemmed_words() {
        let tokens = indexed("iPhone手机, Contracts 東京都");
        let at = |pos: i64| -> Vec<&str> {
            tokens
                .iter()
                .filter(|t| t.1 == pos)
                .map(|t| t.0.as_str())
                .collect()
        };
        assert_eq!(at(0), vec!["iphon"]);
        assert_eq!(at(1), vec!["手", "手机", "机"]);
        assert_eq!(at(2), vec!["contract"]);
        assert_eq!(at(3), vec!["東", "東京"]);
        assert_eq!(at(4), vec!["京", "京都", "都"]);
        assert_eq!(tokens.iter().map(|t| t.1).max(), Some(4));
    }

    #[test]
    fn queries_are_phrases_of_bigrams_and_highlights_cover_the_characters() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5(x, tokenize='sift');
             INSERT INTO t(rowid, x) VALUES (1, '本合同的提前终止条款'), (2, '合作同意'), (3, '東京都に住んでいます');",
        )
        .unwrap();
        let hits = |q: &str| -> Vec<i64> {
            let mut stmt = conn
                .prepare("SELECT rowid FROM t WHERE t MATCH ?1 ORDER BY rowid")
                .unwrap();
            stmt.query_map([q], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        assert_eq!(hits("\"合同\""), vec![1]);
        assert_eq!(hits("\"提前终止\""), vec![1]);
        assert_eq!(hits("\"同意\""), vec![2]);
        assert_eq!(
            hits("\"同\""),
            vec![1, 2],
            "one character, anywhere in a run"
        );
        assert_eq!(hits("\"東京\""), vec![3]);
        assert_eq!(hits("\"います\""), vec![3]);
        assert_eq!(hits("\"合同意\""), Vec::<i64>::new(), "not in a row");
        let marked: String = conn
            .query_row(
                "SELECT highlight(t, 0, '[', ']') FROM t WHERE t MATCH '\"提前\" OR \"前终\" OR \"终止\"'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(marked, "本合同的[提前终止]条款");
    }

    #[test]
    fn a_tokenizer_with_arguments_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        assert!(conn
            .execute_batch("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='sift unicode61');")
            .is_err());
        // Without registration the name is unknown.
        let bare = Connection::open_in_memory().unwrap();
        assert!(bare
            .execute_batch("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='sift');")
            .is_err());
    }
}
