//! "Here is an embedding, give me its 8-bit form, and the cosine of two 8-bit forms": the one place that
//! decides how vectors are kept compactly, in SQLite (`vectors.vector`) and in the graph.
//!
//! Each vector is scaled on its own so that its largest component becomes ±127, then rounded
//! (symmetric absmax quantization): one byte per dimension, a quarter of f32. No scale is stored: cosine
//! similarity does not depend on length, so [`cosine`] divides by the two integer norms and
//! [`dequantize`] returns a unit vector. The rounding error is at most half a step of the largest
//! component; on MiniLM's 384 dimensions it moves a cosine by about 0.001 (recall measured in
//! docs/BENCHMARKS.md, `sift bench query`).

/// The largest magnitude a component is scaled to.
const LEVELS: f32 = 127.0;

/// The 8-bit form of `v` (any length; a zero vector stays zero).
pub fn quantize(v: &[f32]) -> Vec<i8> {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 || !max.is_finite() {
        return vec![0; v.len()];
    }
    let scale = LEVELS / max;
    v.iter()
        .map(|x| (x * scale).round().clamp(-LEVELS, LEVELS) as i8)
        .collect()
}

/// The unit vector in the direction of `q` (zero stays zero).
pub fn dequantize(q: &[i8]) -> Vec<f32> {
    let mut v: Vec<f32> = q.iter().map(|&x| f32::from(x)).collect();
    crate::embed::normalize(&mut v);
    v
}

/// The bytes stored for `q` (each `i8` as its two's-complement byte).
pub fn to_bytes(q: &[i8]) -> Vec<u8> {
    q.iter().map(|&x| x as u8).collect()
}

/// Inverse of [`to_bytes`].
pub fn from_bytes(b: &[u8]) -> Vec<i8> {
    b.iter().map(|&x| x as i8).collect()
}

/// (a·b, a·a, b·b) in integers, written so the compiler vectorises it (16 lanes, no overflow: each
/// product is at most 127², 16,129, and an `i32` holds 130,000 of them). Inlined into [`dots`]' variants,
/// so each is vectorised for its instruction set.
#[inline(always)]
fn dots_portable(a: &[i8], b: &[i8]) -> (i32, i32, i32) {
    let (mut ab, mut aa, mut bb) = ([0i32; 16], [0i32; 16], [0i32; 16]);
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..16 {
            let (x, y) = (i32::from(x[k]), i32::from(y[k]));
            ab[k] += x * y;
            aa[k] += x * x;
            bb[k] += y * y;
        }
    }
    let (mut sab, mut saa, mut sbb) = (
        ab.iter().sum::<i32>(),
        aa.iter().sum::<i32>(),
        bb.iter().sum::<i32>(),
    );
    for (&x, &y) in ra.iter().zip(rb) {
        let (x, y) = (i32::from(x), i32::from(y));
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    (sab, saa, sbb)
}

/// [`dots_portable`] with AVX2 integer instructions: 16 bytes at a time sign-extended to 16 bits, then
/// multiplied and added in pairs into 32-bit lanes (`vpmaddwd`). The compiler does not find this for the
/// portable loop: it inserted bytes one by one and multiplied in 32 bits.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dots_avx2(a: &[i8], b: &[i8]) -> (i32, i32, i32) {
    use std::arch::x86_64::*;

    /// The sum of a vector's eight 32-bit lanes.
    #[target_feature(enable = "avx2")]
    fn sum(v: __m256i) -> i32 {
        let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
        _mm_cvtsi128_si32(s)
    }

    let n = a.len().min(b.len());
    let (mut ab, mut aa, mut bb) = (
        _mm256_setzero_si256(),
        _mm256_setzero_si256(),
        _mm256_setzero_si256(),
    );
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 <= n, which is at most either slice's length: 16 bytes are readable from each
        // (unaligned loads).
        let (x, y) = unsafe {
            (
                _mm_loadu_si128(a.as_ptr().add(i).cast()),
                _mm_loadu_si128(b.as_ptr().add(i).cast()),
            )
        };
        let (x, y) = (_mm256_cvtepi8_epi16(x), _mm256_cvtepi8_epi16(y));
        ab = _mm256_add_epi32(ab, _mm256_madd_epi16(x, y));
        aa = _mm256_add_epi32(aa, _mm256_madd_epi16(x, x));
        bb = _mm256_add_epi32(bb, _mm256_madd_epi16(y, y));
        i += 16;
    }
    let (mut sab, mut saa, mut sbb) = (sum(ab), sum(aa), sum(bb));
    for (&x, &y) in a[i..n].iter().zip(&b[i..n]) {
        let (x, y) = (i32::from(x), i32::from(y));
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    (sab, saa, sbb)
}

/// (a·b, a·a, b·b): the graph's distance, so its hottest loop. Uses AVX2 where the CPU has it (checked once
/// and cached by the standard library); the binary itself targets baseline x86-64.
fn dots(a: &[i8], b: &[i8]) -> (i32, i32, i32) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { dots_avx2(a, b) };
    }
    dots_portable(a, b)
}

/// Cosine similarity of two 8-bit vectors (0 when either is zero).
pub fn cosine(a: &[i8], b: &[i8]) -> f32 {
    let (ab, aa, bb) = dots(a, b);
    if aa == 0 || bb == 0 {
        return 0.0;
    }
    (ab as f64 / ((aa as f64) * (bb as f64)).sqrt()) as f32
}

/// The graph's distance between two 8-bit vectors: `1 - cos`, clamped at 0 against rounding. Both graph
/// forms (hnsw_rs while building, [`crate::frozen`] once saved) measure with this, so they agree.
pub fn distance(a: &[i8], b: &[i8]) -> f32 {
    (1.0 - cosine(a, b)).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: &mut u64, dim: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                (*seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        crate::embed::normalize(&mut v);
        v
    }

    #[test]
    fn cosine_of_quantized_vectors_tracks_the_f32_cosine() {
        let mut seed = 7u64;
        let mut worst = 0f32;
        for _ in 0..200 {
            let (a, b) = (unit(&mut seed, 384), unit(&mut seed, 384));
            // Pull b towards a so that similarities cover the whole range, not just ~0.
            let t = (seed % 100) as f32 / 100.0;
            let mut c: Vec<f32> = a
                .iter()
                .zip(&b)
                .map(|(x, y)| t * x + (1.0 - t) * y)
                .collect();
            crate::embed::normalize(&mut c);
            let exact = crate::embed::dot(&a, &c);
            let approx = cosine(&quantize(&a), &quantize(&c));
            worst = worst.max((exact - approx).abs());
        }
        assert!(worst < 0.01, "largest cosine error {worst}");
        assert!(
            worst > 0.0,
            "quantization is lossy; an error of exactly 0 means nothing was compared"
        );
    }

    #[test]
    fn round_trip_keeps_direction_and_sign() {
        let v = vec![0.5f32, -0.25, 0.0, 0.125, -0.5];
        let q = quantize(&v);
        assert_eq!(q, vec![127, -64, 0, 32, -127]);
        assert_eq!(from_bytes(&to_bytes(&q)), q);
        let back = dequantize(&q);
        let mut unit = v.clone();
        crate::embed::normalize(&mut unit);
        assert!(crate::embed::dot(&back, &unit) > 0.9999);
        assert!((crate::embed::dot(&back, &back) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn every_instruction_set_gives_the_same_integers() {
        let mut seed = 7u64;
        for len in [0, 1, 15, 16, 17, 383, 384, 1000] {
            let a = quantize(&unit(&mut seed, len));
            let b = quantize(&unit(&mut seed, len));
            let expect = (
                a.iter()
                    .zip(&b)
                    .map(|(&x, &y)| i32::from(x) * i32::from(y))
                    .sum::<i32>(),
                a.iter().map(|&x| i32::from(x) * i32::from(x)).sum::<i32>(),
                b.iter().map(|&y| i32::from(y) * i32::from(y)).sum::<i32>(),
            );
            assert_eq!(dots(&a, &b), expect, "length {len}");
            assert_eq!(dots_portable(&a, &b), expect, "length {len}");
            // Extremes: every product at its largest magnitude.
            let (hi, lo) = (vec![127i8; len], vec![-127i8; len]);
            assert_eq!(dots(&hi, &lo).0, -(16_129 * len as i32));
        }
    }

    #[test]
    fn zero_and_odd_lengths() {
        assert_eq!(quantize(&[0.0; 3]), vec![0, 0, 0]);
        assert_eq!(cosine(&[0, 0, 0], &[1, 2, 3]), 0.0);
        // 17 components: one full lane block and a remainder.
        let a: Vec<i8> = (0..17).map(|i| i as i8 - 8).collect();
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-6);
        let neg: Vec<i8> = a.iter().map(|x| -x).collect();
        assert!((cosine(&a, &neg) + 1.0).abs() < 1e-6);
    }
}
