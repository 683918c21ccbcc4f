//! "Here is a saved graph segment, search it where it lies": the flat, read-only form of an HNSW graph.
//! [`crate::index`] writes it next to hnsw_rs's own files when it saves a segment, and searches it after a
//! load. The file is mapped into memory (memmap2), so opening costs the same at a thousand points and at a
//! million, only the pages a search touches are ever read, and nothing is deserialised; a search walks
//! plain arrays with no allocation per visited point.
//!
//! Layout, native-endian (a file from a machine of the other endianness fails the header check, and the
//! graph is rebuilt): a 64-byte header, then sections that each start at a multiple of 64 bytes —
//! chunk ids (`i64` × n), vectors (`i8` × dim × n), levels (`u8` × n), the base layer (`u32` × (1 + width₀)
//! × n: a count, then neighbours), where each point's upper-layer lists start (`u32` × n, [`NONE`] for a
//! point on the base layer only), the upper-layer lists (`u32` × (1 + width) × records; a point of level
//! L has L records, for layers 1..=L), the orphans (`u32` × orphans, ascending) and their vectors again
//! (`i8` × dim × orphans, in that order, so a search reads them in one sequential sweep).
//!
//! Orphans are the points no walk of the base layer from the entry point can reach: HNSW prunes each
//! point's links to its closest, most diverse neighbours, and a point unlike everything near it — the one
//! passage on its topic in a folder about something else, exactly what a person searches for — can end up
//! with no link pointing at it. [`write`] finds them (every link of the base layer followed from the entry point) and
//! [`FrozenGraph::search`] compares the query with each of them after its walk, so every point of a saved
//! segment can be found. They are few (none to a few per thousand points: docs/BENCHMARKS.md).
//!
//! Invariant (what makes mapping the file sound): a file is never changed after it is written. `index.rs`
//! writes each segment into a new folder and renames it into place, and only ever deletes whole folders;
//! an [`upgrade`] writes a new file and renames it over the old one's name.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hnsw_rs::prelude::{Hnsw, Point, PointId};
use memmap2::Mmap;

use crate::error::{Error, Result};
use crate::index::CosineI8;
use crate::quant;

const MAGIC: &[u8; 8] = b"SIFTHNSW";
/// 2: with the orphan sections (1 had none; [`upgrade`] rewrites such a file from itself).
const VERSION: u32 = 2;
/// Written as a native `u32`: reads back differently on a machine of the other endianness.
const ENDIAN: u32 = 0x0102_0304;
const HEADER: usize = 64;
/// "No upper-layer lists" in the upper-start section.
const NONE: u32 = u32::MAX;
/// hnsw_rs keeps at most 16 layers (0..=15).
const MAX_LEVEL: u32 = 15;

fn align(x: usize) -> Option<usize> {
    x.checked_add(63).map(|v| v / 64 * 64)
}

/// Where each section starts, and the file's length.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Layout {
    ids: usize,
    vectors: usize,
    levels: usize,
    base: usize,
    upper_start: usize,
    upper: usize,
    upper_end: usize,
    orphans: usize,
    orphan_vectors: usize,
    len: usize,
}

impl Layout {
    /// `None` when the sizes overflow (a corrupt header).
    fn new(
        n: usize,
        dim: usize,
        width0: usize,
        width: usize,
        records: usize,
        orphans: usize,
    ) -> Option<Layout> {
        let ids = HEADER;
        let vectors = align(ids.checked_add(n.checked_mul(8)?)?)?;
        let levels = align(vectors.checked_add(n.checked_mul(dim)?)?)?;
        let base = align(levels.checked_add(n)?)?;
        let upper_start =
            align(base.checked_add(n.checked_mul(width0.checked_add(1)?.checked_mul(4)?)?)?)?;
        let upper = align(upper_start.checked_add(n.checked_mul(4)?)?)?;
        let upper_end =
            upper.checked_add(records.checked_mul(width.checked_add(1)?.checked_mul(4)?)?)?;
        let orphans_at = align(upper_end)?;
        let orphan_vectors = align(orphans_at.checked_add(orphans.checked_mul(4)?)?)?;
        let len = orphan_vectors.checked_add(orphans.checked_mul(dim)?)?;
        Some(Layout {
            ids,
            vectors,
            levels,
            base,
            upper_start,
            upper,
            upper_end,
            orphans: orphans_at,
            orphan_vectors,
            len,
        })
    }

    /// How many upper-layer records the layout holds, each a count and `width` entries.
    fn records(&self, width: usize) -> usize {
        (self.upper_end - self.upper) / (4 * (width + 1))
    }
}

/// Writes `hnsw` (vectors of `dim` dimensions, keyed by chunk id) to `path` in the flat form. The graph must
/// not change while this runs (the caller holds it: saves never overlap inserts into the same segment).
pub(crate) fn write(hnsw: &Hnsw<'static, i8, CosineI8>, dim: usize, path: &Path) -> Result<()> {
    let points: Vec<_> = hnsw.get_point_indexation().into_iter().collect();
    let n = points.len();
    let too_big = || {
        Error::Index(format!(
            "a graph segment of {n} points is too large to save"
        ))
    };
    if n >= NONE as usize {
        return Err(too_big());
    }
    // hnsw_rs names a point by (its level, its rank in that level); the flat form by its position.
    let mut at: Vec<Vec<u32>> = Vec::new();
    let (mut width0, mut width, mut records, mut top, mut entry) =
        (0usize, 0usize, 0usize, 0u8, 0u32);
    for (i, p) in points.iter().enumerate() {
        let PointId(level, rank) = p.get_point_id();
        let (level_ix, rank) = (
            level as usize,
            usize::try_from(rank).map_err(|_| too_big())?,
        );
        if at.len() <= level_ix {
            at.resize(level_ix + 1, Vec::new());
        }
        if at[level_ix].len() <= rank {
            at[level_ix].resize(rank + 1, NONE);
        }
        at[level_ix][rank] = i as u32;
        if i == 0 || level > top {
            (top, entry) = (level, i as u32);
        }
        records += level_ix;
        for (layer, list) in p.get_neighborhood_id().iter().enumerate() {
            if layer == 0 {
                width0 = width0.max(list.len());
            } else {
                width = width.max(list.len());
            }
        }
    }
    if u32::from(top) > MAX_LEVEL || records >= NONE as usize {
        return Err(Error::Index(format!(
            "a graph of {top} layers cannot be saved"
        )));
    }
    let node = |id: &PointId| -> u32 {
        at.get(id.0 as usize)
            .and_then(|l| usize::try_from(id.1).ok().and_then(|r| l.get(r)))
            .copied()
            .unwrap_or(NONE)
    };
    // A point's lists, as positions (read again per section rather than held: a million points' lists
    // are a few hundred MB).
    let lists = |p: &Arc<Point<'static, i8>>| -> Vec<Vec<u32>> {
        p.get_neighborhood_id()
            .iter()
            .take(p.get_point_id().0 as usize + 1)
            .map(|list| {
                list.iter()
                    .map(|nb| node(&nb.p_id))
                    .filter(|&x| x != NONE)
                    .collect()
            })
            .collect()
    };
    let orphans = orphans(n, entry, |i| {
        points
            .get(i)
            .and_then(|p| lists(p).into_iter().next())
            .unwrap_or_default()
    });
    if orphans.len() > n / 100 {
        tracing::info!(
            points = n,
            orphans = orphans.len(),
            "many graph points unreachable by a walk"
        );
    } else {
        tracing::debug!(
            points = n,
            orphans = orphans.len(),
            "graph points unreachable by a walk"
        );
    }
    let layout = Layout::new(n, dim, width0, width, records, orphans.len()).ok_or_else(too_big)?;

    let io = |e| Error::io(format!("writing {}", path.display()), e);
    let mut out = Writer {
        w: BufWriter::with_capacity(1 << 20, File::create(path).map_err(io)?),
        pos: 0,
    };
    let mut header = [0u8; HEADER];
    header[..8].copy_from_slice(MAGIC);
    for (k, v) in [
        VERSION,
        ENDIAN,
        dim as u32,
        n as u32,
        u32::from(top),
        entry,
        width0 as u32,
        width as u32,
        records as u32,
        orphans.len() as u32,
    ]
    .into_iter()
    .enumerate()
    {
        header[8 + 4 * k..12 + 4 * k].copy_from_slice(&v.to_ne_bytes());
    }
    out.put(&header).map_err(io)?;
    out.pad_to(layout.ids).map_err(io)?;
    for p in &points {
        out.put(&(p.get_origin_id() as i64).to_ne_bytes())
            .map_err(io)?;
    }
    out.pad_to(layout.vectors).map_err(io)?;
    for p in &points {
        let v = p.get_v();
        if v.len() != dim {
            return Err(Error::Index(format!(
                "a graph point has {} dimensions, not {dim}",
                v.len()
            )));
        }
        out.put(bytemuck::cast_slice(v)).map_err(io)?;
    }
    out.pad_to(layout.levels).map_err(io)?;
    for p in &points {
        out.put(&[p.get_point_id().0]).map_err(io)?;
    }
    out.pad_to(layout.base).map_err(io)?;
    for p in &points {
        out.list(lists(p).first().map_or(&[][..], Vec::as_slice), width0)
            .map_err(io)?;
    }
    out.pad_to(layout.upper_start).map_err(io)?;
    let mut record = 0u32;
    for p in &points {
        let level = u32::from(p.get_point_id().0);
        out.put(&(if level == 0 { NONE } else { record }).to_ne_bytes())
            .map_err(io)?;
        record += level;
    }
    out.pad_to(layout.upper).map_err(io)?;
    for p in points.iter().filter(|p| p.get_point_id().0 > 0) {
        let lists = lists(p);
        for layer in 1..=p.get_point_id().0 as usize {
            out.list(lists.get(layer).map_or(&[][..], Vec::as_slice), width)
                .map_err(io)?;
        }
    }
    out.orphans(&layout, &orphans, |x| {
        points.get(x as usize).map_or(&[][..], |p| p.get_v())
    })
    .map_err(io)?;
    out.finish(layout.len, path)
}

/// Rewrites the version-1 flat file at `from` (written before the orphan list) as the current version at
/// `to`: the same sections, then the orphans found by walking its own base layer — seconds at a million
/// points, where reading hnsw_rs's form again takes tens and gigabytes. Errors when `from` is not a
/// version-1 graph of `dim` dimensions.
pub(crate) fn upgrade(from: &Path, to: &Path, dim: usize) -> Result<()> {
    let old = FrozenGraph::open_version(from, dim, 1).map_err(Error::Index)?;
    let orphans = orphans(old.n, old.entry, |i| old.neighbours(i as u32, 0).to_vec());
    let layout = Layout::new(
        old.n,
        dim,
        old.width0,
        old.width,
        old.layout.records(old.width),
        orphans.len(),
    )
    .ok_or_else(|| Error::Index("graph header out of range".into()))?;
    let io = |e| Error::io(format!("writing {}", to.display()), e);
    let mut out = Writer {
        w: BufWriter::with_capacity(1 << 20, File::create(to).map_err(io)?),
        pos: 0,
    };
    let mut header = [0u8; HEADER];
    header.copy_from_slice(&old.map[..HEADER]);
    header[8..12].copy_from_slice(&VERSION.to_ne_bytes());
    header[44..48].copy_from_slice(&(orphans.len() as u32).to_ne_bytes());
    out.put(&header).map_err(io)?;
    out.put(&old.map[HEADER..old.layout.upper_end])
        .map_err(io)?;
    out.orphans(&layout, &orphans, |x| old.vector(x as usize))
        .map_err(io)?;
    out.finish(layout.len, to)
}

/// The points of a graph of `n` points that a walk of the base layer from `entry` never reaches, ascending;
/// `base(i)` gives point `i`'s base-layer neighbours.
fn orphans(n: usize, entry: u32, base: impl Fn(usize) -> Vec<u32>) -> Vec<u32> {
    let mut reached = vec![false; n];
    let mut todo = Vec::new();
    if let Some(r) = reached.get_mut(entry as usize) {
        *r = true;
        todo.push(entry);
    }
    while let Some(at) = todo.pop() {
        for nb in base(at as usize) {
            if let Some(r) = reached.get_mut(nb as usize).filter(|r| !**r) {
                *r = true;
                todo.push(nb);
            }
        }
    }
    (0..n as u32).filter(|&i| !reached[i as usize]).collect()
}

/// A buffered writer that counts what it wrote, for padding to section starts.
struct Writer {
    w: BufWriter<File>,
    pos: usize,
}

impl Writer {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.pos += bytes.len();
        self.w.write_all(bytes)
    }

    /// The orphan sections: the points' positions, then their vectors (`vector` gives each).
    fn orphans<'v>(
        &mut self,
        layout: &Layout,
        orphans: &[u32],
        vector: impl Fn(u32) -> &'v [i8],
    ) -> std::io::Result<()> {
        self.pad_to(layout.orphans)?;
        for x in orphans {
            self.put(&x.to_ne_bytes())?;
        }
        self.pad_to(layout.orphan_vectors)?;
        for &x in orphans {
            self.put(bytemuck::cast_slice(vector(x)))?;
        }
        Ok(())
    }

    /// Checks that `len` bytes were written, and flushes them to disk.
    fn finish(self, len: usize, path: &Path) -> Result<()> {
        if self.pos != len {
            return Err(Error::Index(format!(
                "the saved graph is {} bytes, {len} expected",
                self.pos
            )));
        }
        let io = |e| Error::io(format!("writing {}", path.display()), e);
        let file = self.w.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)
    }

    fn pad_to(&mut self, at: usize) -> std::io::Result<()> {
        let zeros = vec![0u8; at.saturating_sub(self.pos)];
        self.put(&zeros)
    }

    /// A count, then the list, then zeros up to `width` entries.
    fn list(&mut self, list: &[u32], width: usize) -> std::io::Result<()> {
        let list = &list[..list.len().min(width)];
        self.put(&(list.len() as u32).to_ne_bytes())?;
        for x in list {
            self.put(&x.to_ne_bytes())?;
        }
        for _ in list.len()..width {
            self.put(&0u32.to_ne_bytes())?;
        }
        Ok(())
    }
}

/// A saved segment, mapped. Every read is bounds-checked, so a corrupt file gives wrong neighbours at
/// worst, never a crash; [`FrozenGraph::open`] rejects what the header can tell is wrong.
pub(crate) struct FrozenGraph {
    map: Mmap,
    path: PathBuf,
    dim: usize,
    n: usize,
    max_level: usize,
    entry: u32,
    width0: usize,
    width: usize,
    orphan_count: usize,
    layout: Layout,
}

/// Asks the CPU to bring `bytes` into its cache (a hint: no effect on results).
#[inline(always)]
fn prefetch(bytes: &[i8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.chunks(64) {
        // SAFETY: a prefetch never faults and reads nothing into the program; the address is inside `bytes`.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(line.as_ptr())
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// A point and its distance to the query, ordered by distance (then position, for a total order).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Near {
    d: f32,
    node: u32,
}

impl Eq for Near {}

impl Ord for Near {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.d.total_cmp(&other.d).then(self.node.cmp(&other.node))
    }
}

impl PartialOrd for Near {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl FrozenGraph {
    /// Maps the segment file at `path`, for vectors of `dim` dimensions.
    pub(crate) fn open(path: &Path, dim: usize) -> std::result::Result<FrozenGraph, String> {
        Self::open_version(path, dim, VERSION)
    }

    /// Maps a file of `version` (the current one, or 1: written before the orphan list, which it reads
    /// as empty).
    fn open_version(
        path: &Path,
        dim: usize,
        version: u32,
    ) -> std::result::Result<FrozenGraph, String> {
        let file = File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
        // SAFETY: the file is never modified after it is written (the module's invariant: segments are
        // written into a new folder, renamed into place, and only deleted as a whole), so the mapped bytes
        // cannot change under the slices read from them. Deleting it while mapped keeps the pages (Unix) or
        // fails and is retried at the next save (Windows).
        let map =
            unsafe { Mmap::map(&file) }.map_err(|e| format!("mapping {}: {e}", path.display()))?;
        let field = |k: usize| -> u32 {
            let at = 8 + 4 * k;
            map.get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_ne_bytes)
                .unwrap_or(0)
        };
        if map.len() < HEADER || &map[..8] != MAGIC {
            return Err("not a saved graph".into());
        }
        if field(0) != version || field(1) != ENDIAN {
            return Err(format!(
                "graph file version {} / byte order {:#x}",
                field(0),
                field(1)
            ));
        }
        let (file_dim, n, max_level, entry) =
            (field(2) as usize, field(3) as usize, field(4), field(5));
        let (width0, width, records) = (field(6) as usize, field(7) as usize, field(8) as usize);
        // (Version 1 left this header field zero.)
        let orphans = field(9) as usize;
        if file_dim != dim {
            return Err(format!("graph of {file_dim} dimensions, {dim} expected"));
        }
        if n == 0 || entry as usize >= n || max_level > MAX_LEVEL {
            return Err("graph header out of range".into());
        }
        let mut layout = Layout::new(n, dim, width0, width, records, orphans)
            .ok_or("graph header out of range")?;
        if version == 1 {
            // It ended with the upper-layer lists.
            (layout.orphans, layout.orphan_vectors, layout.len) =
                (layout.upper_end, layout.upper_end, layout.upper_end);
        }
        if map.len() != layout.len {
            return Err(format!(
                "graph file is {} bytes, {} expected",
                map.len(),
                layout.len
            ));
        }
        let graph = FrozenGraph {
            map,
            path: path.to_path_buf(),
            dim,
            n,
            max_level: max_level as usize,
            entry,
            width0,
            width,
            orphan_count: orphans,
            layout,
        };
        // The sections read as wider integers must be aligned for them (the map starts on a page).
        if graph.ids().len() != n
            || graph.base().len() != n * (width0 + 1)
            || graph.upper_start().len() != n
            || graph.upper().len() != records * (width + 1)
            || graph.orphans().len() != orphans
            || graph.orphan_vectors().len() != orphans * dim
        {
            return Err("graph sections misaligned".into());
        }
        Ok(graph)
    }

    /// The file this graph was read from.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Points in the graph.
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    fn section<T: bytemuck::Pod>(&self, from: usize, to: usize) -> &[T] {
        self.map
            .get(from..to)
            .and_then(|b| bytemuck::try_cast_slice(b).ok())
            .unwrap_or(&[])
    }

    /// Chunk id of each point.
    pub(crate) fn ids(&self) -> &[i64] {
        self.section(self.layout.ids, self.layout.ids + 8 * self.n)
    }

    fn base(&self) -> &[u32] {
        self.section(
            self.layout.base,
            self.layout.base + 4 * self.n * (self.width0 + 1),
        )
    }

    fn upper_start(&self) -> &[u32] {
        self.section(
            self.layout.upper_start,
            self.layout.upper_start + 4 * self.n,
        )
    }

    fn upper(&self) -> &[u32] {
        self.section(self.layout.upper, self.layout.upper_end)
    }

    /// The points no walk reaches (see the module's doc).
    pub(crate) fn orphans(&self) -> &[u32] {
        self.section(
            self.layout.orphans,
            self.layout.orphans + 4 * self.orphan_count,
        )
    }

    /// The orphans' vectors, one after another in the orphans' order.
    fn orphan_vectors(&self) -> &[i8] {
        self.section(self.layout.orphan_vectors, self.layout.len)
    }

    /// The 8-bit vector of point `node`.
    pub(crate) fn vector(&self, node: usize) -> &[i8] {
        let at = self.layout.vectors + node * self.dim;
        self.section(at, at + self.dim)
    }

    /// The neighbours of `node` on `layer` (empty when it has none there).
    fn neighbours(&self, node: u32, layer: usize) -> &[u32] {
        let node = node as usize;
        let (lists, at, width) = if layer == 0 {
            (self.base(), node * (self.width0 + 1), self.width0)
        } else {
            let level = self
                .map
                .get(self.layout.levels + node)
                .copied()
                .unwrap_or(0) as usize;
            match self.upper_start().get(node) {
                Some(&start) if start != NONE && layer <= level => (
                    self.upper(),
                    (start as usize + layer - 1) * (self.width + 1),
                    self.width,
                ),
                _ => return &[],
            }
        };
        let count = lists.get(at).map_or(0, |&c| (c as usize).min(width));
        lists.get(at + 1..at + 1 + count).unwrap_or(&[])
    }

    fn distance(&self, query: &[i8], node: u32) -> f32 {
        quant::distance(query, self.vector(node as usize))
    }

    /// The `k` nearest points to `query` that `accept` lets through (by chunk id), as (chunk id, cosine
    /// similarity), best first, keeping `ef` candidates. Rejected points are walked through but never
    /// returned, so deleted or filtered-out points cost a little more walking, not a wider search.
    pub(crate) fn search(
        &self,
        query: &[i8],
        k: usize,
        ef: usize,
        accept: Option<&dyn Fn(i64) -> bool>,
    ) -> Vec<(i64, f32)> {
        let ids = self.ids();
        let ok = |node: u32| accept.is_none_or(|f| ids.get(node as usize).is_some_and(|&id| f(id)));
        let ef = ef.max(k).max(1);
        // Greedy descent through the upper layers to the base layer's starting point.
        let mut at = Near {
            d: self.distance(query, self.entry),
            node: self.entry,
        };
        for layer in (1..=self.max_level).rev() {
            loop {
                let mut moved = false;
                for &nb in self.neighbours(at.node, layer) {
                    if nb as usize >= self.n {
                        continue;
                    }
                    let d = self.distance(query, nb);
                    if d < at.d {
                        at = Near { d, node: nb };
                        moved = true;
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        // Best-first search of the base layer: `found` holds the best `ef` accepted points (worst on top),
        // `todo` the points still to expand (nearest first).
        let mut seen = vec![0u64; self.n.div_ceil(64)];
        let mut visit = |node: u32| {
            let (w, b) = (node as usize / 64, node % 64);
            match seen.get_mut(w) {
                Some(word) if *word & (1 << b) == 0 => {
                    *word |= 1 << b;
                    true
                }
                _ => false,
            }
        };
        visit(at.node);
        let mut todo = BinaryHeap::from([Reverse(at)]);
        let mut found: BinaryHeap<Near> = BinaryHeap::with_capacity(ef + 1);
        if ok(at.node) {
            found.push(at);
        }
        let mut fresh: Vec<u32> = Vec::with_capacity(self.width0);
        while let Some(Reverse(next)) = todo.pop() {
            if found.len() >= ef && found.peek().is_some_and(|worst| next.d > worst.d) {
                break;
            }
            // The unvisited neighbours' vectors are asked from memory all at once, then compared: the
            // loads overlap instead of each waiting for the last (a search is mostly memory latency).
            fresh.clear();
            for &nb in self.neighbours(next.node, 0) {
                if (nb as usize) < self.n && visit(nb) {
                    prefetch(self.vector(nb as usize));
                    fresh.push(nb);
                }
            }
            for &nb in &fresh {
                let d = self.distance(query, nb);
                if found.len() < ef || found.peek().is_some_and(|worst| d < worst.d) {
                    let near = Near { d, node: nb };
                    todo.push(Reverse(near));
                    if ok(nb) {
                        found.push(near);
                        if found.len() > ef {
                            found.pop();
                        }
                    }
                }
            }
        }
        // The points no walk of the base layer reaches, each compared with the query — unless the descent
        // through the upper layers ended on one, and it was seen already.
        let seen_already = |node: u32| {
            seen.get(node as usize / 64)
                .is_none_or(|w| w & (1 << (node % 64)) != 0)
        };
        for (&node, v) in self
            .orphans()
            .iter()
            .zip(self.orphan_vectors().chunks_exact(self.dim))
        {
            if (node as usize) < self.n && !seen_already(node) && ok(node) {
                let d = quant::distance(query, v);
                if found.len() < ef || found.peek().is_some_and(|worst| d < worst.d) {
                    found.push(Near { d, node });
                    if found.len() > ef {
                        found.pop();
                    }
                }
            }
        }
        let mut best = found.into_sorted_vec();
        best.truncate(k);
        best.into_iter()
            .filter_map(|near| ids.get(near.node as usize).map(|&id| (id, 1.0 - near.d)))
            .collect()
    }

    /// Every point's vector and chunk id.
    pub(crate) fn vectors(&self) -> Vec<(Vec<i8>, usize)> {
        self.ids()
            .iter()
            .enumerate()
            .map(|(node, &id)| (self.vector(node).to_vec(), id as usize))
            .collect()
    }
}

/// Rewrites the current-version file at `path` as version 1 left it (no orphan sections, header field
/// zero, the file ending with the upper-layer lists), for tests of the upgrade.
#[cfg(test)]
pub(crate) fn downgrade_to_version_1(path: &Path, dim: usize) {
    let graph = FrozenGraph::open(path, dim).unwrap();
    let mut bytes = graph.map[..graph.layout.upper_end].to_vec();
    drop(graph);
    bytes[8..12].copy_from_slice(&1u32.to_ne_bytes());
    bytes[44..48].copy_from_slice(&0u32.to_ne_bytes());
    std::fs::write(path, bytes).unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: &mut u64, dim: usize) -> Vec<i8> {
        let v: Vec<f32> = (0..dim)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                (*seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        quant::quantize(&v)
    }

    /// A graph of `n` random points (chunk ids 1..=n) saved flat in `dir`, with its vectors.
    fn saved(dir: &Path, n: usize, dim: usize) -> (PathBuf, Vec<Vec<i8>>) {
        let mut seed = 5u64;
        let vectors: Vec<Vec<i8>> = (0..n).map(|_| unit(&mut seed, dim)).collect();
        let hnsw = Hnsw::new(16, n, 16, 100, CosineI8);
        let items: Vec<(&Vec<i8>, usize)> = vectors.iter().zip(1..).collect();
        hnsw.parallel_insert(&items);
        let path = dir.join("graph.flat");
        write(&hnsw, dim, &path).unwrap();
        (path, vectors)
    }

    /// The `k` ids nearest to `q` among those `keep` allows, by exact search.
    fn exact(vectors: &[Vec<i8>], q: &[i8], k: usize, keep: impl Fn(i64) -> bool) -> Vec<i64> {
        let mut all: Vec<(f32, i64)> = (1..)
            .zip(vectors)
            .filter(|(id, _)| keep(*id))
            .map(|(id, v)| (quant::distance(q, v), id))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all.into_iter().take(k).map(|x| x.1).collect()
    }

    #[test]
    fn the_saved_graph_finds_what_exact_search_finds() {
        let dir = tempfile::tempdir().unwrap();
        let (n, dim) = (4000, 32);
        let (path, vectors) = saved(dir.path(), n, dim);
        let graph = FrozenGraph::open(&path, dim).unwrap();
        assert_eq!(graph.len(), n);
        assert_eq!(graph.ids().len(), n);
        assert!(graph.max_level >= 1, "4,000 points reach an upper layer");
        let mut seed = 99u64;
        let (mut hits, mut filtered_hits) = (0, 0);
        for _ in 0..100 {
            let q = unit(&mut seed, dim);
            let got: Vec<i64> = graph.search(&q, 10, 64, None).iter().map(|x| x.0).collect();
            assert_eq!(got.len(), 10);
            let want = exact(&vectors, &q, 10, |_| true);
            hits += got.iter().filter(|id| want.contains(id)).count();
            // Only a third of the points accepted: still ten results, all accepted.
            let third = |id: i64| id % 3 == 0;
            let got = graph.search(&q, 10, 64, Some(&third));
            assert_eq!(got.len(), 10);
            assert!(got.iter().all(|(id, _)| third(*id)));
            let want = exact(&vectors, &q, 10, third);
            filtered_hits += got.iter().filter(|(id, _)| want.contains(id)).count();
            // Best first, similarities as the vectors give them.
            assert!(got.windows(2).all(|w| w[0].1 >= w[1].1));
            let (id, sim) = got[0];
            let expect = 1.0 - quant::distance(&q, &vectors[id as usize - 1]);
            assert!((sim - expect).abs() < 1e-6);
        }
        assert!(hits >= 950, "recall@10 {}", hits as f64 / 1000.0);
        assert!(
            filtered_hits >= 950,
            "filtered recall@10 {}",
            filtered_hits as f64 / 1000.0
        );
        // Each point finds itself; its vector reads back as written.
        for node in [0usize, 1, n / 2, n - 1] {
            assert_eq!(graph.vector(node), vectors[graph.ids()[node] as usize - 1]);
            let got = graph.search(&vectors[node], 1, 32, None);
            assert_eq!(got[0].0, node as i64 + 1);
        }
        assert_eq!(graph.vectors().len(), n);
    }

    #[test]
    fn points_no_link_leads_to_are_orphans() {
        // 0 ↔ 1 ↔ 2; 3 links to 0 but nothing links to 3; 4 has no links at all; 5 and 6 only link to
        // each other.
        let lists: Vec<Vec<u32>> = vec![
            vec![1],
            vec![0, 2],
            vec![1],
            vec![0],
            vec![],
            vec![6],
            vec![5],
        ];
        let base = |i: usize| lists[i].clone();
        assert_eq!(orphans(7, 0, base), vec![3, 4, 5, 6]);
        assert_eq!(orphans(7, 3, base), vec![4, 5, 6]);
        assert!(orphans(3, 0, |i| vec![((i + 1) % 3) as u32]).is_empty());
    }

    #[test]
    fn a_point_unlike_all_others_is_found_though_no_link_leads_to_it() {
        // A tight cluster, then one point half-way off it (cosine 0.5 to the cluster): its would-be
        // neighbours keep their links to each other (closer) and drop the one back to it, so no walk of
        // the graph reaches it (five runs of five out of five when this test was written).
        let dir = tempfile::tempdir().unwrap();
        let dim = 32;
        let mut seed = 5u64;
        let cluster: Vec<Vec<i8>> = (0..2000)
            .map(|_| {
                let noise = unit(&mut seed, dim);
                let mut v: Vec<f32> = noise.iter().map(|&x| f32::from(x) * 0.05).collect();
                v[0] += 127.0;
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter().map(|x| (x / norm * 127.0) as i8).collect()
            })
            .collect();
        let mut outlier = vec![0i8; dim];
        (outlier[0], outlier[1]) = (63, 110);
        let hnsw = Hnsw::new(16, cluster.len() + 1, 16, 100, CosineI8);
        let items: Vec<(&Vec<i8>, usize)> = cluster.iter().zip(1..).collect();
        hnsw.parallel_insert(&items);
        hnsw.insert((outlier.as_slice(), 2001));
        let path = dir.path().join("graph.flat");
        write(&hnsw, dim, &path).unwrap();
        let graph = FrozenGraph::open(&path, dim).unwrap();
        let node = graph.ids().iter().position(|&id| id == 2001).unwrap() as u32;
        assert!(graph.orphans().contains(&node), "{:?}", graph.orphans());
        let got = graph.search(&outlier, 5, 64, None);
        assert_eq!(got[0].0, 2001);
        assert!(got[0].1 > 0.99, "{got:?}");
        // Filtered out, it is not returned.
        let not_it = |id: i64| id != 2001;
        let got = graph.search(&outlier, 5, 64, Some(&not_it));
        assert_eq!(got.len(), 5);
        assert!(got.iter().all(|(id, _)| *id != 2001));
        // A file written before the orphan list is upgraded from itself to the very same bytes.
        let written = std::fs::read(&path).unwrap();
        let old = dir.path().join("old.flat");
        std::fs::copy(&path, &old).unwrap();
        downgrade_to_version_1(&old, dim);
        assert!(
            FrozenGraph::open(&old, dim).is_err(),
            "version 1 is not searched"
        );
        let new = dir.path().join("new.flat");
        upgrade(&old, &new, dim).unwrap();
        assert_eq!(std::fs::read(&new).unwrap(), written);
        assert!(
            upgrade(&path, &new, dim).is_err(),
            "only version 1 is upgraded"
        );
    }

    #[test]
    fn an_orphan_the_walk_reached_anyway_is_returned_once() {
        // The entry point listed as an orphan (the descent through the upper layers can end on a point no
        // base-layer link leads to): a search starting there must not return it twice.
        let dir = tempfile::tempdir().unwrap();
        let dim = 16;
        let (path, _) = saved(dir.path(), 600, dim);
        let graph = FrozenGraph::open(&path, dim).unwrap();
        let entry = graph.entry;
        let layout = Layout::new(
            600,
            dim,
            graph.width0,
            graph.width,
            graph.layout.records(graph.width),
            1,
        )
        .unwrap();
        let mut bytes = graph.map[..graph.layout.upper_end].to_vec();
        bytes[44..48].copy_from_slice(&1u32.to_ne_bytes());
        bytes.resize(layout.orphans, 0);
        bytes.extend_from_slice(&entry.to_ne_bytes());
        bytes.resize(layout.orphan_vectors, 0);
        let query = graph.vector(entry as usize).to_vec();
        bytes.extend(query.iter().map(|&x| x as u8));
        drop(graph);
        std::fs::write(&path, bytes).unwrap();
        let graph = FrozenGraph::open(&path, dim).unwrap();
        assert_eq!(graph.orphans(), [entry]);
        let got = graph.search(&query, 10, 40, None);
        assert_eq!(got.len(), 10);
        let mut ids: Vec<i64> = got.iter().map(|x| x.0).collect();
        assert_eq!(ids[0], graph.ids()[entry as usize]);
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 10, "{got:?}");
    }

    #[test]
    fn damaged_files_are_refused_or_searched_without_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let dim = 16;
        let (path, vectors) = saved(dir.path(), 600, dim);
        let good = std::fs::read(&path).unwrap();
        let refused = |bytes: &[u8], dim: usize| {
            std::fs::write(&path, bytes).unwrap();
            FrozenGraph::open(&path, dim).is_err()
        };
        assert!(refused(b"garbage", dim), "not a graph");
        assert!(refused(&good[..good.len() - 1], dim), "cut short");
        assert!(refused(&good, dim + 1), "another dimension");
        let mut other_version = good.clone();
        other_version[8] ^= 0xff;
        assert!(refused(&other_version, dim), "another version");
        let mut bad_entry = good.clone();
        bad_entry[28..32].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(refused(&bad_entry, dim), "entry point out of range");
        // Neighbour lists overwritten with noise (the header intact): searches return, ids stay ids.
        let mut seed = 3u64;
        let mut noisy = good.clone();
        let from = Layout::new(600, dim, 0, 0, 0, 0).unwrap().base;
        for b in &mut noisy[from..] {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *b = seed as u8;
        }
        assert!(!refused(&noisy, dim));
        let graph = FrozenGraph::open(&path, dim).unwrap();
        for v in vectors.iter().take(50) {
            for (id, _) in graph.search(v, 10, 40, None) {
                assert!((1..=600).contains(&id));
            }
        }
    }
}
