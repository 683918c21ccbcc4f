//! Shared helpers for integration tests: the real model installed by `scripts/setup.sh`.
#![allow(dead_code)]

use std::path::PathBuf;

use sift_core::embed::{EmbedOptions, Embedder};
use sift_core::model::{self, Precision};

/// `../shared` next to the repository (reference vectors, datasets), or `$SIFT_SHARED_DIR`.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("SIFT_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

pub fn embedder(precision: Precision, batch_size: usize) -> Embedder {
    let spec = model::spec("all-MiniLM-L6-v2").unwrap();
    let files = model::locate(&spec, precision, None)
        .expect("the model is installed by scripts/setup.sh (run it first)");
    Embedder::load(
        &spec,
        &files,
        &EmbedOptions {
            threads: 2,
            batch_size,
            accelerate: false,
        },
    )
    .unwrap()
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}
