//! The generator on the real test LLM (SmolLM2-135M-Instruct, 8-bit, built by `scripts/setup.sh`) against the
//! golden values in `fixtures/llm_golden.json` (python onnxruntime on the same file).
//!
//! Without the model these tests say so and pass locally; under CI (`CI=true`) a missing model fails them.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Deserialize;
use sift_core::generate::{
    ChatMessage, Finish, GenerateParams, Generator, GeneratorOptions, TextStream, CONFIG_FILE,
};

const MODEL_ID: &str = "smollm2-135m-instruct";

#[derive(Deserialize)]
struct Golden {
    max_new_tokens: usize,
    prompts: Vec<GoldenPrompt>,
}

#[derive(Deserialize)]
struct GoldenPrompt {
    name: String,
    messages: Vec<ChatMessage>,
    prompt: String,
    prompt_ids: Vec<u32>,
    greedy_ids: Vec<u32>,
    finish: String,
}

fn golden() -> Golden {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/llm_golden.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The test model, or `None` (with a message) when it is not installed and this is not CI.
fn generator() -> Option<Generator> {
    let dir = sift_core::paths::cache_dir().join("models").join(MODEL_ID);
    if !dir.join(CONFIG_FILE).is_file() {
        let msg = format!(
            "the test LLM is not installed at {} (run scripts/setup.sh)",
            dir.display()
        );
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
        return None;
    }
    let options = GeneratorOptions {
        threads: 2,
        accelerate: false,
        ..GeneratorOptions::default()
    };
    Some(Generator::load(&dir, &options).expect("the test LLM loads"))
}

fn argmax(v: &[f32]) -> u32 {
    v.iter()
        .enumerate()
        .fold((0, f32::MIN), |b, (i, &x)| if x > b.1 { (i, x) } else { b })
        .0 as u32
}

/// The largest |a − b| over the logits, and the largest |b| (the scale to judge it by).
fn max_difference(a: &[f32], b: &[f32]) -> (f32, f32) {
    let scale = b.iter().fold(0f32, |m, x| m.max(x.abs()));
    let diff = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    (diff, scale)
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

fn greedy(max_new_tokens: usize) -> GenerateParams {
    GenerateParams {
        max_new_tokens,
        ..GenerateParams::default()
    }
}

#[test]
fn prompts_render_and_tokenize_like_the_reference() {
    let Some(g) = generator() else { return };
    for p in golden().prompts {
        let prompt = g.render_chat(&p.messages).unwrap();
        assert_eq!(prompt, p.prompt, "{}", p.name);
        assert_eq!(g.encode(&prompt).unwrap(), p.prompt_ids, "{}", p.name);
    }
}

#[test]
fn greedy_generation_matches_the_golden_ids_and_stops() {
    let Some(mut g) = generator() else { return };
    let golden = golden();
    for p in golden.prompts {
        let mut streamed = String::new();
        let out = g
            .generate(
                &p.prompt_ids,
                &greedy(golden.max_new_tokens),
                None,
                &mut |t| streamed.push_str(t),
            )
            .unwrap();
        assert_eq!(out.token_ids, p.greedy_ids, "{}: {:?}", p.name, out.text);
        let expected_finish = match p.finish.as_str() {
            "stop_token" => Finish::Stop,
            "max_tokens" => Finish::MaxTokens,
            other => panic!("unknown finish {other}"),
        };
        assert_eq!(out.finish, expected_finish, "{}", p.name);
        // The streamed deltas add up to the reply; the stop token shows no text.
        assert_eq!(streamed, out.text, "{}", p.name);
        assert!(!out.text.contains("<|im_end|>"), "{:?}", out.text);
        assert_eq!(out.timings.prompt_tokens, p.prompt_ids.len());
        assert_eq!(out.timings.generated_tokens, out.token_ids.len());
        assert!(out.timings.first_token_ms > 0.0);
    }
}

#[test]
fn generation_stops_at_the_end_token_and_at_max_tokens() {
    let Some(mut g) = generator() else { return };
    let golden = golden();
    let capital = &golden.prompts[0];
    // Room for more: the end token (2, <|im_end|>) ends it.
    let out = g
        .generate(&capital.prompt_ids, &greedy(64), None, &mut |_| {})
        .unwrap();
    assert_eq!(out.finish, Finish::Stop);
    assert_eq!(out.token_ids.last(), Some(&2));
    assert_eq!(out.text, "The capital of Germany is Berlin.");
    // A budget of 3 ends it after 3.
    let out = g
        .generate(&capital.prompt_ids, &greedy(3), None, &mut |_| {})
        .unwrap();
    assert_eq!(out.finish, Finish::MaxTokens);
    assert_eq!(out.token_ids, capital.greedy_ids[..3]);
}

#[test]
fn cached_decoding_agrees_with_full_sequence_runs() {
    let Some(mut g) = generator() else { return };
    let golden = golden();
    let p = &golden.prompts[1];
    let (mut cache, mut cached) = g.prefill(&p.prompt_ids).unwrap();
    let mut seq = p.prompt_ids.clone();
    let (mut worst_rel, mut worst_cos) = (0f32, 1f32);
    for (step, &next) in p.greedy_ids.iter().enumerate().take(8) {
        // The same logits from a fresh run over the whole sequence so far (no cache).
        let (_, uncached) = g.prefill(&seq).unwrap();
        let (diff, scale) = max_difference(&cached, &uncached);
        let cos = cosine(&cached, &uncached);
        eprintln!("step {step}: max |Δlogit| {diff:.4} of {scale:.2}, cosine {cos:.6}");
        worst_rel = worst_rel.max(diff / scale);
        worst_cos = worst_cos.min(cos);
        // The 8-bit graph (MatMulNBits, accuracy level 4) quantizes activations to int8 per block of 32 at
        // run time, and one-row (decode) and many-row (prefill) runs round differently once the sequence
        // passes some length: here max |Δlogit| 0.4-0.7 of ~25 from step 3 on, cosine >= 0.9988 — the same
        // figures python onnxruntime gives on this file, so it is the kernels, not the cache (the float32
        // graph agrees within 5e-5, generation.json "checks"). Bounds: the converter's own q8 bound for
        // one position (cosine >= 0.995), 5 % of the largest logit, and the same choice of token.
        assert!(cos >= 0.995, "step {step}: cosine {cos}");
        assert!(
            diff <= 0.05 * scale,
            "step {step}: max |Δlogit| {diff} (largest logit {scale})"
        );
        assert_eq!(argmax(&cached), next, "step {step}");
        assert_eq!(argmax(&uncached), next, "step {step}");
        seq.push(next);
        cached = g.decode_step(&mut cache, next).unwrap();
        assert_eq!(cache.len(), seq.len());
    }
    eprintln!(
        "cached vs uncached: worst relative |Δlogit| {worst_rel:.2e}, worst cosine {worst_cos:.6}"
    );
}

#[test]
fn cancellation_from_the_stream_stops_within_one_token() {
    let Some(mut g) = generator() else { return };
    let golden = golden();
    let count = &golden.prompts[2];
    let cancel = AtomicBool::new(false);
    let mut deltas = 0;
    let out = g
        .generate(&count.prompt_ids, &greedy(64), Some(&cancel), &mut |_| {
            deltas += 1;
            if deltas == 3 {
                cancel.store(true, Ordering::SeqCst);
            }
        })
        .unwrap();
    assert_eq!(out.finish, Finish::Cancelled);
    // Every token of "1, 2, 3" shows text: the third delta came with the third token, and no token followed.
    assert_eq!(deltas, 3);
    assert_eq!(out.token_ids, count.greedy_ids[..3]);
    // Set before the call: nothing runs.
    let out = g
        .generate(&count.prompt_ids, &greedy(64), Some(&cancel), &mut |_| {})
        .unwrap();
    assert_eq!(out.finish, Finish::Cancelled);
    assert!(out.token_ids.is_empty());
}

#[test]
fn sampling_with_a_seed_is_reproducible() {
    let Some(mut g) = generator() else { return };
    let golden = golden();
    let ids = &golden.prompts[0].prompt_ids;
    let params = |seed| GenerateParams {
        max_new_tokens: 12,
        temperature: 1.2,
        top_p: 0.95,
        seed,
    };
    let a = g.generate(ids, &params(7), None, &mut |_| {}).unwrap();
    let b = g.generate(ids, &params(7), None, &mut |_| {}).unwrap();
    assert_eq!(a.token_ids, b.token_ids);
    // Some other seed takes another path (at temperature 1.2 the first steps are close calls).
    let differs = (8..16).any(|seed| {
        g.generate(ids, &params(seed), None, &mut |_| {})
            .unwrap()
            .token_ids
            != a.token_ids
    });
    assert!(differs, "sampling ignores the seed");
}

#[test]
fn a_prompt_over_the_context_is_a_clear_error() {
    let Some(_) = generator() else { return };
    let dir = sift_core::paths::cache_dir().join("models").join(MODEL_ID);
    let mut g = Generator::load(
        &dir,
        &GeneratorOptions {
            threads: 2,
            accelerate: false,
            max_context: Some(16),
            ..GeneratorOptions::default()
        },
    )
    .unwrap();
    assert_eq!(g.context_length(), 16);
    let ids = &golden().prompts[0].prompt_ids;
    let err = g.generate(ids, &greedy(4), None, &mut |_| {}).unwrap_err();
    assert!(
        matches!(
            err,
            sift_core::Error::PromptTooLong {
                tokens: 37,
                limit: 16
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("context"), "{err}");
}

#[test]
fn utf8_is_streamed_whole() {
    let Some(g) = generator() else { return };
    // Byte-level tokens split these characters; the stream holds a character back until it is complete.
    let text = "Café 😀, 日本語 naïve — ok";
    let ids = g.encode(text).unwrap();
    assert!(ids.len() > text.chars().count() / 2);
    let mut stream = TextStream::default();
    let mut deltas = Vec::new();
    for n in 1..=ids.len() {
        deltas.push(stream.push(g.tokenizer(), &ids[..n]).unwrap());
    }
    assert!(deltas.iter().all(|d| !d.contains('\u{FFFD}')), "{deltas:?}");
    assert!(
        deltas.iter().any(|d| d.is_empty()),
        "no character was split: {deltas:?}"
    );
    assert_eq!(deltas.concat(), text);
}

/// `fixtures/hub_decoder/`: a tiny random decoder in the Hub's fp16 layout (float16 KV cache, float16
/// logits for the whole sequence, no `position_ids`), written by its `make.py` with the expected values from
/// python onnxruntime. Needs no download, so it always runs.
#[derive(Deserialize)]
struct HubExpected {
    prompt_text: String,
    prompt_ids: Vec<u32>,
    greedy_ids: Vec<u32>,
    prompt_last_logits: Vec<f32>,
}

#[test]
fn a_hub_layout_fp16_decoder_runs_through_the_same_code() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hub_decoder");
    let expected: HubExpected =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let mut g = Generator::load(
        &dir,
        &GeneratorOptions {
            threads: 1,
            accelerate: false,
            max_context: None,
            ..GeneratorOptions::default()
        },
    )
    .unwrap();
    assert_eq!(g.context_length(), 64);
    let prompt = g
        .render_chat(&[ChatMessage::new("user", expected.prompt_text.clone())])
        .unwrap();
    let ids = g.encode(&prompt).unwrap();
    assert_eq!(ids, expected.prompt_ids);

    // Logits for every position come back; the last row is the one read, converted from float16.
    let (_, logits) = g.prefill(&ids).unwrap();
    assert_eq!(logits.len(), expected.prompt_last_logits.len());
    for (i, (a, b)) in logits.iter().zip(&expected.prompt_last_logits).enumerate() {
        assert!((a - b).abs() <= 1e-3, "logit {i}: {a} vs {b}");
    }

    // Greedy through the float16 KV cache (shape [1, 1, past, 4] read from the session) gives onnxruntime's ids.
    let out = g.generate(&ids, &greedy(12), None, &mut |_| {}).unwrap();
    assert_eq!(out.token_ids, expected.greedy_ids);
    assert_eq!(out.finish, Finish::MaxTokens);

    // Cached and uncached agree (within float16 rounding of the logits: one step at their magnitude).
    let (mut cache, mut cached) = g.prefill(&ids).unwrap();
    let mut seq = ids.clone();
    for &next in &expected.greedy_ids[..8] {
        let (_, uncached) = g.prefill(&seq).unwrap();
        let (diff, scale) = max_difference(&cached, &uncached);
        assert!(diff <= 2e-3 * scale, "max |Δlogit| {diff} of {scale}");
        assert_eq!(argmax(&cached), next);
        seq.push(next);
        cached = g.decode_step(&mut cache, next).unwrap();
    }
}

#[test]
fn a_graph_that_is_not_a_decoder_is_a_clear_error() {
    // The embedding model's graph (no logits, no KV cache) named as a generator's.
    let spec = sift_core::model::spec("all-MiniLM-L6-v2").unwrap();
    let files = sift_core::model::locate(&spec, sift_core::model::Precision::Int8, None)
        .expect("the embedding model is installed by scripts/setup.sh");
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hub_decoder");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture.join("tokenizer.json"),
        dir.path().join("tokenizer.json"),
    )
    .unwrap();
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join(CONFIG_FILE)).unwrap()).unwrap();
    config["files"]["model"] = files.onnx.to_string_lossy().into_owned().into();
    std::fs::write(dir.path().join(CONFIG_FILE), config.to_string()).unwrap();
    let err = match Generator::load(dir.path(), &GeneratorOptions::default()) {
        Ok(_) => panic!("an encoder loaded as a generator"),
        Err(e) => e,
    };
    let msg = err.to_string();
    assert!(
        matches!(err, sift_core::Error::ModelInvalid { .. }),
        "{msg}"
    );
    assert!(msg.contains("logits"), "{msg}");
    // No generation.json at all: the generator is missing, said so.
    let err = match Generator::load(&fixture.join("absent"), &GeneratorOptions::default()) {
        Ok(_) => panic!("loaded from nothing"),
        Err(e) => e,
    };
    assert!(
        matches!(err, sift_core::Error::GeneratorMissing(_)),
        "{err}"
    );
}

/// Prefilling in pieces (the default for Hub exports, whose logits cover every position) gives the same
/// reply as one run over the whole prompt.
#[test]
fn a_prompt_prefilled_in_pieces_gives_the_same_reply() {
    let Some(_) = generator() else { return };
    let dir = sift_core::paths::cache_dir().join("models").join(MODEL_ID);
    let load = |prefill_chunk: usize| {
        Generator::load(
            &dir,
            &GeneratorOptions {
                threads: 2,
                accelerate: false,
                prefill_chunk,
                ..GeneratorOptions::default()
            },
        )
        .unwrap()
    };
    let prompt = &golden().prompts[0];
    let mut whole = load(100_000);
    let mut pieces = load(7);
    assert!(
        prompt.prompt_ids.len() > 3 * 7,
        "{}",
        prompt.prompt_ids.len()
    );
    let (_, a) = whole.prefill(&prompt.prompt_ids).unwrap();
    let (cache, b) = pieces.prefill(&prompt.prompt_ids).unwrap();
    assert_eq!(cache.len(), prompt.prompt_ids.len());
    assert_eq!(argmax(&a), argmax(&b));
    let one = whole
        .generate(&prompt.prompt_ids, &greedy(8), None, &mut |_| {})
        .unwrap();
    let many = pieces
        .generate(&prompt.prompt_ids, &greedy(8), None, &mut |_| {})
        .unwrap();
    assert_eq!(one.token_ids, many.token_ids);
    assert_eq!(one.token_ids, prompt.greedy_ids[..8]);
}

#[path = "support/answer_repo.rs"]
mod answer_repo;
#[path = "support/hub_server.rs"]
mod hub_server;

mod hub_download {
    use super::*;
    use answer_repo::hex;
    use sha2::{Digest, Sha256};
    use sift_core::download::{download_generator_to, DownloadError, Pin, PIN_FILE};
    use sift_core::model::{GeneratorSpec, HubFile, HubOptions};

    const REPO: &str = "onnx-community/Tiny-Decoder";
    const COMMIT: &str = "00112233445566778899aabbccddeeff00112233";
    const GRAPH: &str = "onnx/model_fp16.onnx";

    fn repo_files() -> Vec<(String, Vec<u8>)> {
        answer_repo::files(GRAPH)
    }

    fn publish(server: &hub_server::HubServer, files: &[(String, Vec<u8>)]) {
        server.serve(
            &format!("/api/models/{REPO}/revision/main"),
            answer_repo::api_listing(REPO, COMMIT, files),
        );
    }

    fn spec() -> GeneratorSpec {
        let file = |path: &str| HubFile {
            path: path.into(),
            ..HubFile::default()
        };
        GeneratorSpec {
            id: "tiny-decoder".into(),
            name: "Tiny decoder".into(),
            description: "test".into(),
            languages: "none".into(),
            license: "Apache-2.0".into(),
            parameters_b: 0.0,
            quantization: "fp16".into(),
            hf_repo: REPO.into(),
            revision: None,
            model: file(GRAPH),
            support: [
                "config.json",
                "generation_config.json",
                "tokenizer.json",
                "tokenizer_config.json",
            ]
            .map(file)
            .to_vec(),
            approx_bytes: 10_000,
            approx_tokens_per_s: 1.0,
        }
    }

    #[test]
    fn an_answer_model_is_pinned_downloaded_configured_and_generates() {
        let server = hub_server::HubServer::start();
        server.redirect_to_cdn(true);
        let files = repo_files();
        for (path, bytes) in &files {
            server.add(REPO, COMMIT, path, bytes.clone());
        }
        publish(&server, &files);
        let hub = HubOptions {
            endpoint: Some(server.endpoint.clone()),
            cache_dir: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let cancel = AtomicBool::new(false);
        let mut last = None;
        let got = download_generator_to(&spec(), &hub, dir.path(), &cancel, &mut |p| {
            last = Some(p.clone())
        })
        .unwrap();
        assert_eq!(got, dir.path());
        let total: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
        let last = last.unwrap();
        assert_eq!((last.bytes, last.total), (total, Some(total)));
        // The commit `main` pointed at and each file's checksum are recorded; the files keep their paths.
        let pin: Pin =
            serde_json::from_slice(&std::fs::read(dir.path().join(PIN_FILE)).unwrap()).unwrap();
        assert_eq!(pin.revision, COMMIT);
        assert_eq!(pin.files.len(), files.len());
        assert!(pin.files.iter().all(|f| f.is_pinned()), "{pin:?}");
        for (path, bytes) in &files {
            assert_eq!(
                &std::fs::read(dir.path().join(path)).unwrap(),
                bytes,
                "{path}"
            );
        }
        // generation.json comes from the repository's own configuration.
        let config = sift_core::generate::read_config(dir.path()).unwrap();
        assert_eq!(config.files.model, GRAPH);
        assert_eq!(config.stop_token_ids, vec![1]);
        assert_eq!(
            (config.context_length, config.n_kv_heads, config.head_dim),
            (64, Some(1), Some(4))
        );
        assert_eq!(
            config.downloaded_from.as_deref(),
            Some(format!("{REPO}@{COMMIT}").as_str())
        );

        // The downloaded model runs through the same code and gives onnxruntime's ids.
        let expected: HubExpected = serde_json::from_slice(
            &std::fs::read(
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/hub_decoder/expected.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let mut g = Generator::load(
            dir.path(),
            &GeneratorOptions {
                threads: 1,
                accelerate: false,
                max_context: None,
                prefill_chunk: 4,
                ..GeneratorOptions::default()
            },
        )
        .unwrap();
        let prompt = g
            .render_chat(&[ChatMessage::new("user", expected.prompt_text.clone())])
            .unwrap();
        let ids = g.encode(&prompt).unwrap();
        assert_eq!(ids, expected.prompt_ids);
        let out = g.generate(&ids, &greedy(12), None, &mut |_| {}).unwrap();
        assert_eq!(out.token_ids, expected.greedy_ids);

        // Asking again fetches nothing: the pin is reused and every file is in place.
        let before = server.requests().len();
        download_generator_to(&spec(), &hub, dir.path(), &cancel, &mut |_| {}).unwrap();
        assert_eq!(server.requests().len(), before);
    }

    #[test]
    fn a_file_that_does_not_match_the_published_checksum_is_refused_and_nothing_is_offered() {
        let server = hub_server::HubServer::start();
        let files = repo_files();
        publish(&server, &files);
        for (path, bytes) in &files {
            let mut bytes = bytes.clone();
            if path == "config.json" {
                // Same size, other bytes: only the git blob id can tell.
                let last = bytes.len() - 2;
                bytes[last] ^= 1;
            }
            server.add(REPO, COMMIT, path, bytes);
        }
        let hub = HubOptions {
            endpoint: Some(server.endpoint.clone()),
            cache_dir: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let err = download_generator_to(
            &spec(),
            &hub,
            dir.path(),
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(err, DownloadError::Checksum { .. }), "{err:?}");
        assert!(!dir.path().join("config.json").exists());
        assert!(
            !dir.path().join(CONFIG_FILE).exists(),
            "a broken download is never offered"
        );

        // A manifest that pins a checksum the Hub's files do not have refuses before fetching anything.
        let mut pinned = spec();
        pinned.model.sha256 = Some("ab".repeat(32));
        let other = tempfile::tempdir().unwrap();
        let err = download_generator_to(
            &pinned,
            &hub,
            other.path(),
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            matches!(err, DownloadError::NotDownloadable { .. }),
            "{err:?}"
        );
        assert!(!other.path().join(GRAPH).exists());
    }

    /// Qwen2.5-Instruct's template (a tools branch, `tojson`, `loop.first`, message attributes) as a
    /// separate `chat_template.jinja`, special tokens given as objects: the configuration is read from the
    /// repository's files and the prompt renders as Qwen expects.
    #[test]
    fn a_qwen_style_repository_configures_and_renders() {
        let dir = tempfile::tempdir().unwrap();
        for (path, bytes) in repo_files() {
            let target = dir.path().join(&path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            let bytes = if path == "tokenizer_config.json" {
                let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                v.as_object_mut().unwrap().remove("chat_template");
                serde_json::to_vec(&v).unwrap()
            } else {
                bytes
            };
            std::fs::write(target, bytes).unwrap();
        }
        let err = sift_core::generate::config_from_hub(dir.path(), GRAPH, "q", "Q").unwrap_err();
        assert!(err.to_string().contains("chat_template"), "{err}");
        std::fs::copy(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/qwen2_chat_template.jinja"),
            dir.path().join("chat_template.jinja"),
        )
        .unwrap();
        sift_core::generate::write_hub_config(dir.path(), &spec(), COMMIT).unwrap();
        let g = Generator::load(dir.path(), &GeneratorOptions::default()).unwrap();
        let with_system = g
            .render_chat(&[
                ChatMessage::new("system", "Cite passages."),
                ChatMessage::new("user", "t5 t9"),
            ])
            .unwrap();
        assert_eq!(
            with_system,
            "<|im_start|>system\nCite passages.<|im_end|>\n<|im_start|>user\nt5 t9<|im_end|>\n<|im_start|>assistant\n"
        );
        let default_system = g.render_chat(&[ChatMessage::new("user", "hi")]).unwrap();
        assert!(
            default_system
                .starts_with("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud."),
            "{default_system}"
        );
    }

    #[test]
    fn a_fully_pinned_model_never_asks_the_api() {
        let server = hub_server::HubServer::start();
        let files = repo_files();
        let mut spec = spec();
        spec.revision = Some(COMMIT.into());
        for (path, bytes) in &files {
            server.add(REPO, COMMIT, path, bytes.clone());
            let pinned = HubFile {
                path: path.to_string(),
                sha256: Some(hex(&Sha256::digest(bytes))),
                size: Some(bytes.len() as u64),
                git_blob: None,
            };
            if path == GRAPH {
                spec.model = pinned;
            } else if let Some(f) = spec.support.iter_mut().find(|f| f.path == *path) {
                *f = pinned;
            }
        }
        assert!(spec.fully_pinned());
        let hub = HubOptions {
            endpoint: Some(server.endpoint.clone()),
            cache_dir: None,
        };
        let dir = tempfile::tempdir().unwrap();
        download_generator_to(
            &spec,
            &hub,
            dir.path(),
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap();
        let requests = server.requests();
        assert!(
            !requests.iter().any(|r| r.path.starts_with("/api/")),
            "{requests:?}"
        );
        assert!(sift_core::generate::read_config(dir.path()).is_ok());
    }
}
