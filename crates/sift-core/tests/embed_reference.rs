//! The embedder against sentence-transformers' own output, with the real ONNX model and ONNX Runtime.

mod common;

use common::{cosine, embedder, shared_dir};
use sift_core::embed::{EmbedOptions, Embedder};
use sift_core::model::{self, ModelFiles, Precision};

struct Reference {
    texts: Vec<String>,
    tokens: Vec<usize>,
    vectors: Vec<Vec<f32>>,
}

fn reference() -> Reference {
    let path = shared_dir().join("models/minilm-reference-vectors.json");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("reference vectors")).unwrap();
    let items = json["items"].as_array().unwrap();
    Reference {
        texts: items
            .iter()
            .map(|i| i["text"].as_str().unwrap().to_string())
            .collect(),
        tokens: items
            .iter()
            .map(|i| i["tokens_incl_special"].as_u64().unwrap() as usize)
            .collect(),
        vectors: items
            .iter()
            .map(|i| {
                i["embedding"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
                    .collect()
            })
            .collect(),
    }
}

#[test]
fn fp32_matches_sentence_transformers() {
    let r = reference();
    assert_eq!(r.texts.len(), 20);
    let mut e = embedder(Precision::Fp32, 32);
    let got = e.embed_documents(&r.texts).unwrap();
    for (i, (g, want)) in got.iter().zip(&r.vectors).enumerate() {
        let c = cosine(&g.vector, want);
        assert!(c >= 0.9999, "item {i} {:?}: cosine {c}", r.texts[i]);
        assert_eq!(g.tokens, r.tokens[i].min(256), "token count of item {i}");
        // The reference counts tokens after truncation: 256 means the text filled (and overflowed) the window.
        assert_eq!(
            g.truncated,
            r.tokens[i] >= 256,
            "truncation flag of item {i}"
        );
        let norm: f32 = g.vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
    }
    assert!(
        got.iter().any(|g| g.truncated),
        "the reference set has one text over the window"
    );
}

#[test]
fn int8_is_close_to_sentence_transformers() {
    let r = reference();
    let mut e = embedder(Precision::Int8, 32);
    let got = e.embed_documents(&r.texts).unwrap();
    let cos: Vec<f32> = got
        .iter()
        .zip(&r.vectors)
        .map(|(g, w)| cosine(&g.vector, w))
        .collect();
    let mean = cos.iter().sum::<f32>() / cos.len() as f32;
    let min = cos.iter().cloned().fold(f32::MAX, f32::min);
    eprintln!("int8 vs reference: mean cosine {mean:.4}, min {min:.4}");
    assert!(mean >= 0.99, "mean cosine {mean}");
    assert!(min >= 0.97, "min cosine {min}: {cos:?}");
}

#[test]
fn batching_does_not_change_vectors() {
    let r = reference();
    let mut batched = embedder(Precision::Fp32, 7);
    let all = batched.embed_documents(&r.texts).unwrap();
    let mut single = embedder(Precision::Fp32, 1);
    for (text, b) in r.texts.iter().zip(&all) {
        let one = single.embed_documents(&[text]).unwrap().remove(0);
        let c = cosine(&one.vector, &b.vector);
        assert!(c > 0.99999, "{text:?}: {c}");
    }
    // Order is preserved whatever the length sort did.
    let rev: Vec<&String> = r.texts.iter().rev().collect();
    let back = batched.embed_documents(&rev).unwrap();
    for (a, b) in back.iter().rev().zip(&all) {
        assert!(cosine(&a.vector, &b.vector) > 0.99999);
    }
}

#[test]
fn edge_inputs_have_defined_results() {
    let mut e = embedder(Precision::Int8, 32);
    assert!(e.embed_documents::<&str>(&[]).unwrap().is_empty());
    let out = e.embed_documents(&["", "   ", "\n\t"]).unwrap();
    for o in &out {
        assert_eq!(o.vector.len(), 384);
        assert!(o.vector.iter().all(|x| x.is_finite()));
        assert_eq!(o.tokens, 2, "empty text is [CLS] [SEP]");
    }
    // 10 MB of text: embedded from its beginning, flagged as truncated, quickly.
    let big = "The quick brown fox jumps over the lazy dog. ".repeat(10 * 1024 * 1024 / 45);
    let started = std::time::Instant::now();
    let got = e.embed_documents(&[big.as_str()]).unwrap().remove(0);
    assert!(got.truncated);
    assert_eq!(got.tokens, 256);
    let head = e.embed_documents(&[&big[..4000]]).unwrap().remove(0);
    assert!(
        cosine(&got.vector, &head.vector) > 0.9999,
        "a long text embeds as its first window"
    );
    eprintln!("10 MB text embedded in {:?}", started.elapsed());
    // Queries use the query prefix (none for MiniLM) and are unit vectors.
    let q = e.embed_query("early termination clause").unwrap();
    assert_eq!(q.len(), 384);
}

#[test]
fn invalid_model_and_missing_tokenizer_are_clear_errors() {
    let spec = model::spec("all-MiniLM-L6-v2").unwrap();
    let good = model::locate(&spec, Precision::Int8, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bad_onnx = dir.path().join("model.onnx");
    std::fs::write(&bad_onnx, b"this is not an onnx graph").unwrap();
    let files = ModelFiles {
        onnx: bad_onnx.clone(),
        tokenizer: good.tokenizer.clone(),
        precision: Precision::Fp32,
        source: "test",
    };
    let err = Embedder::load(&spec, &files, &EmbedOptions::default())
        .err()
        .expect("invalid model must fail");
    let msg = err.to_string();
    assert!(
        msg.contains("model.onnx") && msg.contains("invalid"),
        "{msg}"
    );

    let files = ModelFiles {
        onnx: good.onnx.clone(),
        tokenizer: dir.path().join("tokenizer.json"),
        precision: Precision::Int8,
        source: "test",
    };
    let err = Embedder::load(&spec, &files, &EmbedOptions::default())
        .err()
        .expect("missing tokenizer must fail");
    assert!(err.to_string().contains("tokenizer"), "{err}");
}

#[test]
fn reports_cpu_provider_and_dimension() {
    let e = embedder(Precision::Int8, 8);
    assert_eq!(e.dim(), 384);
    assert_eq!(e.provider().to_string(), "CPU");
    assert_eq!(e.precision(), Precision::Int8);
}

/// Texts that come with their token ids (as the chunker reads them off) are embedded from those ids; the
/// vectors, token counts and truncation flags are exactly the ones embedding the texts gives.
#[test]
fn units_with_token_ids_embed_like_their_texts() {
    use sift_core::Unit;
    let mut e = embedder(Precision::Int8, 8);
    let mut whole = e.tokenizer().clone();
    whole.with_truncation(None).unwrap();
    // The reference texts (empty, whitespace, unicode, code, HTML, one longer than the window) and each
    // again with its neighbour, so batches mix lengths.
    let r = reference();
    let mut texts = r.texts.clone();
    texts.extend(r.texts.windows(2).map(|w| format!("{} {}", w[0], w[1])));
    let ids: Vec<Vec<u32>> = texts
        .iter()
        .map(|t| whole.encode(t.as_str(), false).unwrap().get_ids().to_vec())
        .collect();
    assert!(ids.iter().any(|i| i.len() > 256));
    let units: Vec<Unit> = texts
        .iter()
        .zip(&ids)
        .map(|(t, i)| Unit {
            text: t,
            tokens: Some(i),
        })
        .collect();
    let from_ids = e
        .embed_units_until(&units, &std::sync::atomic::AtomicBool::new(false))
        .unwrap();
    let from_texts = e.embed_documents(&texts).unwrap();
    assert_eq!(from_ids.len(), texts.len());
    for (i, (a, b)) in from_ids.iter().zip(&from_texts).enumerate() {
        assert_eq!(a.tokens, b.tokens, "{:?}", texts[i]);
        assert_eq!(a.truncated, b.truncated, "{:?}", texts[i]);
        assert_eq!(a.vector, b.vector, "{:?}", texts[i]);
    }
    assert!(from_ids.iter().any(|x| x.truncated));
}
