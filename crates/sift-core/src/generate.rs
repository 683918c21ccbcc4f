//! "A prompt in, tokens out": a decoder-only language model (ONNX, with a KV cache) + its tokenizer + its chat
//! template, run token by token on ONNX Runtime.
//!
//! A model folder holds `generation.json` (what `scripts/build_llm_onnx.py` writes: file names, chat template,
//! stop tokens, context length), `tokenizer.json` and the ONNX graph. The graph follows the Hugging Face Hub's
//! onnx-community decoder contract, discovered by name from the session's metadata, never assumed:
//! inputs `input_ids`, `attention_mask`, optional `position_ids` (int64) and `past_key_values.{i}.key/value`;
//! outputs `logits` and `present.{i}.key/value`. The KV cache's element type (f32 or f16) and shape
//! (`[batch, n_kv_heads, past, head_dim]`) come from the session's inputs, and logits may cover the last
//! position only (`[B, 1, V]`, Sift's converter) or the whole sequence (`[B, S, V]`, Hub exports): the last
//! row is read either way.
//!
//! [`Generator::generate`] prefills the prompt in one run, then decodes one token per run, feeding each run's
//! `present.*` back as the next `past_key_values.*`. Greedy or temperature/top-p sampling from a seeded RNG;
//! stop tokens; a token budget; the context length; a streaming callback that receives text deltas (decoded
//! incrementally, never half a UTF-8 character); and a cancel flag checked before every model run.
//!
//! Loading checks memory first (model file size × [`MEMORY_FACTOR`] against the memory available) and fails
//! with [`Error::NotEnoughMemory`] rather than letting the system swap. Loading is synchronous; a
//! [`Generator`] is `Send`, so the app loads it on a background thread and hands it over.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use ort::session::Session;
use ort::value::{DynValue, Tensor, TensorElementType, ValueType};
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use crate::error::{Error, Result};
use crate::runtime::{self, Provider};

/// The file in a model folder that describes a generator model.
pub const CONFIG_FILE: &str = "generation.json";

/// Memory a loaded model needs, as a multiple of its files' size (weights, the runtime's copies and arenas,
/// the KV cache of a few thousand tokens). Measured: SmolLM2-135M q8 152 MB file → 352 MB RSS; fp32 540 MB →
/// 1,025 MB; Qwen2.5-0.5B q8 → 1,323 MB for a ~600 MB file.
pub const MEMORY_FACTOR: f64 = 2.5;

/// What `generation.json` says about a model. Unknown fields are ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenerationConfig {
    /// Stable id, also the model's folder name.
    pub model_id: String,
    /// Human-readable name.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub license: Option<String>,
    pub files: GenerationFiles,
    /// A Jinja chat template (Hugging Face's `chat_template`), rendered with `messages`,
    /// `add_generation_prompt`, `bos_token` and `eos_token`.
    pub chat_template: String,
    /// Token ids that end a reply (the end-of-turn and end-of-text tokens).
    #[serde(default)]
    pub stop_token_ids: Vec<u32>,
    #[serde(default)]
    pub eos_token_id: Option<u32>,
    #[serde(default)]
    pub bos_token_id: Option<u32>,
    /// Whether the tokenizer's special tokens (a BOS) are added when encoding the rendered prompt.
    #[serde(default)]
    pub add_bos_token: bool,
    /// The model's context window in tokens (prompt + reply).
    pub context_length: usize,
    /// Fallbacks for the KV shape when the graph leaves a dimension symbolic.
    #[serde(default)]
    pub n_kv_heads: Option<usize>,
    #[serde(default)]
    pub head_dim: Option<usize>,
    /// The repository and commit a downloaded model came from (`org/repo@commit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downloaded_from: Option<String>,
}

/// The model's files inside its folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenerationFiles {
    pub model: String,
    pub tokenizer: String,
}

/// How to run a generator model.
#[derive(Debug, Clone)]
pub struct GeneratorOptions {
    /// Intra-op threads for ONNX Runtime.
    pub threads: usize,
    /// Try accelerated execution providers (CoreML/CUDA) before the CPU.
    pub accelerate: bool,
    /// Use at most this many tokens of context (prompt + reply), below the model's own limit: bounds the KV
    /// cache's memory. `None`: the model's limit.
    pub max_context: Option<usize>,
    /// Skip the memory check (tests of the check itself, or a user who knows better).
    pub skip_memory_check: bool,
    /// Run this ONNX graph (a path, or a file name in the model's folder) instead of the one `generation.json`
    /// names: another quantization of the same model (a Hub folder holds several).
    pub graph: Option<PathBuf>,
    /// The prompt is run through the model in pieces of at most this many tokens: Hub exports return
    /// logits for every position (`[1, S, vocabulary]`: 150k × 4 bytes per token for Qwen), which a long
    /// prompt in one run would turn into gigabytes.
    pub prefill_chunk: usize,
}

impl Default for GeneratorOptions {
    fn default() -> Self {
        GeneratorOptions {
            threads: runtime::default_threads(),
            accelerate: true,
            max_context: Some(4096),
            skip_memory_check: false,
            graph: None,
            prefill_chunk: 256,
        }
    }
}

/// How to pick tokens and when to stop.
#[derive(Debug, Clone)]
pub struct GenerateParams {
    /// Reply tokens at most (the stop token included).
    pub max_new_tokens: usize,
    /// 0 (or below): greedy, always the most likely token. Above 0: sampling from the softmax at this
    /// temperature.
    pub temperature: f32,
    /// Nucleus sampling: sample among the most likely tokens whose probabilities add up to this (1 = all).
    pub top_p: f32,
    /// Seed of the sampling RNG: the same seed, prompt and model give the same reply.
    pub seed: u64,
}

impl Default for GenerateParams {
    fn default() -> Self {
        GenerateParams {
            max_new_tokens: 256,
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Finish {
    /// The model produced a stop token.
    Stop,
    /// `max_new_tokens` were generated.
    MaxTokens,
    /// The context window is full.
    ContextFull,
    /// The cancel flag was set.
    Cancelled,
}

/// Where the time went.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    /// Tokens in the prompt.
    pub prompt_tokens: usize,
    /// Tokens generated (the stop token included).
    pub generated_tokens: usize,
    /// The prompt's run (prefill), milliseconds.
    pub prefill_ms: f64,
    /// From the call to the first generated token, milliseconds.
    pub first_token_ms: f64,
    /// The runs after the first token, milliseconds.
    pub decode_ms: f64,
}

impl Timings {
    /// Prompt tokens per second in the prefill.
    pub fn prefill_tok_s(&self) -> f64 {
        per_second(self.prompt_tokens, self.prefill_ms)
    }

    /// Generated tokens per second after the first one.
    pub fn decode_tok_s(&self) -> f64 {
        per_second(self.generated_tokens.saturating_sub(1), self.decode_ms)
    }
}

fn per_second(n: usize, ms: f64) -> f64 {
    if ms > 0.0 {
        n as f64 / (ms / 1000.0)
    } else {
        0.0
    }
}

/// A finished generation.
#[derive(Debug, Clone, Serialize)]
pub struct Generation {
    /// The generated token ids, the stop token included when there was one.
    pub token_ids: Vec<u32>,
    /// The reply's text (stop and other special tokens left out).
    pub text: String,
    pub finish: Finish,
    pub timings: Timings,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        ChatMessage {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// The KV cache of one sequence: the `present.*` tensors of the last run, in input order
/// (`past_key_values.0.key`, `.0.value`, `.1.key`, ...), and how many positions they hold.
pub struct KvCache {
    values: Vec<DynValue>,
    len: usize,
}

impl KvCache {
    /// Positions held (prompt and generated tokens fed so far).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The graph's I/O, discovered from the session.
#[derive(Debug, Clone)]
struct Io {
    has_position_ids: bool,
    /// (`past_key_values.{i}.key|value` input, `present.{i}.key|value` output) in layer order, key first.
    kv: Vec<(String, String)>,
    kv_type: KvType,
    n_kv_heads: usize,
    head_dim: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KvType {
    F32,
    F16,
}

/// A loaded generator model. `Send`, not `Sync`: one generation at a time.
pub struct Generator {
    session: Session,
    tokenizer: Tokenizer,
    config: GenerationConfig,
    dir: PathBuf,
    provider: Provider,
    io: Io,
    stop: Vec<u32>,
    context: usize,
    env: minijinja::Environment<'static>,
    bos_token: String,
    eos_token: String,
    prefill_chunk: usize,
}

// A generator is loaded on a background thread and moved to its user.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<Generator>();
};

impl Generator {
    /// Loads the model in `dir` (which holds `generation.json`) and starts its session on the best available
    /// provider. Checks memory first.
    pub fn load(dir: &Path, options: &GeneratorOptions) -> Result<Self> {
        let config = read_config(dir)?;
        let onnx = dir.join(
            options
                .graph
                .as_deref()
                .unwrap_or(Path::new(&config.files.model)),
        );
        let tokenizer_path = dir.join(&config.files.tokenizer);
        for p in [&onnx, &tokenizer_path] {
            if !p.is_file() {
                return Err(Error::ModelInvalid {
                    path: p.clone(),
                    reason: "file does not exist".into(),
                });
            }
        }
        if !options.skip_memory_check {
            check_memory(&config.model_id, model_bytes(&onnx), available_memory())?;
        }
        let mut tokenizer =
            Tokenizer::from_file(&tokenizer_path).map_err(|e| Error::ModelInvalid {
                path: tokenizer_path.clone(),
                reason: e.to_string(),
            })?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| Error::ModelInvalid {
                path: tokenizer_path.clone(),
                reason: e.to_string(),
            })?;
        let env = template_env(&config.chat_template).map_err(|e| Error::ModelInvalid {
            path: dir.join(CONFIG_FILE),
            reason: format!("chat template: {e}"),
        })?;
        let token_text = |id: Option<u32>| {
            id.and_then(|i| tokenizer.id_to_token(i))
                .unwrap_or_default()
        };
        let bos_token = token_text(config.bos_token_id);
        let eos_token = token_text(config.eos_token_id);
        let mut stop = config.stop_token_ids.clone();
        if let Some(eos) = config.eos_token_id {
            if !stop.contains(&eos) {
                stop.push(eos);
            }
        }
        if stop.is_empty() {
            return Err(Error::ModelInvalid {
                path: dir.join(CONFIG_FILE),
                reason: "no stop token (stop_token_ids or eos_token_id)".into(),
            });
        }

        let threads = options.threads.max(1);
        let (session, provider) = crate::embed::open_session(&onnx, threads, options.accelerate)?;
        let io = discover_io(&session, &config).map_err(|reason| Error::ModelInvalid {
            path: onnx.clone(),
            reason,
        })?;
        let context = options
            .max_context
            .map_or(config.context_length, |m| m.min(config.context_length))
            .max(2);
        tracing::info!(model = %config.model_id, %provider, threads, layers = io.kv.len() / 2,
            kv = ?io.kv_type, context, onnx = %onnx.display(), "generator model loaded");
        Ok(Generator {
            session,
            tokenizer,
            config,
            dir: dir.to_path_buf(),
            provider,
            io,
            stop,
            context,
            env,
            bos_token,
            eos_token,
            prefill_chunk: options.prefill_chunk.max(1),
        })
    }

    /// The execution provider the session runs on.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// What `generation.json` says.
    pub fn config(&self) -> &GenerationConfig {
        &self.config
    }

    /// The model's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Tokens of context (prompt + reply) this generator allows.
    pub fn context_length(&self) -> usize {
        self.context
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Renders `messages` with the model's chat template, ending with the assistant's turn opened.
    pub fn render_chat(&self, messages: &[ChatMessage]) -> Result<String> {
        let tmpl = self
            .env
            .get_template("chat")
            .map_err(|e| Error::Generate(format!("chat template: {e}")))?;
        tmpl.render(minijinja::context! {
            messages => minijinja::value::Serde(messages),
            add_generation_prompt => true,
            bos_token => &self.bos_token,
            eos_token => &self.eos_token,
        })
        .map_err(|e| Error::Generate(format!("chat template: {e}")))
    }

    /// Token ids of a rendered prompt.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        self.tokenizer
            .encode(text, self.config.add_bos_token)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| Error::Generate(format!("tokenizing failed: {e}")))
    }

    /// Tokens `text` takes (no special tokens added): for fitting passages into the context.
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        self.tokenizer
            .encode(text, false)
            .map(|e| e.len())
            .map_err(|e| Error::Generate(format!("tokenizing failed: {e}")))
    }

    /// Text of token ids, special tokens left out.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| Error::Generate(format!("decoding failed: {e}")))
    }

    /// Renders, tokenizes and generates a reply to `messages`.
    pub fn chat(
        &mut self,
        messages: &[ChatMessage],
        params: &GenerateParams,
        cancel: Option<&AtomicBool>,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation> {
        let prompt = self.render_chat(messages)?;
        let ids = self.encode(&prompt)?;
        self.generate(&ids, params, cancel, on_text)
    }

    /// Generates a continuation of `prompt_ids`. `on_text` receives each new piece of text as it is decoded
    /// (whole UTF-8 characters; stop tokens produce none). `cancel` is checked before every model run;
    /// once set, generation ends with [`Finish::Cancelled`] and what was generated so far.
    pub fn generate(
        &mut self,
        prompt_ids: &[u32],
        params: &GenerateParams,
        cancel: Option<&AtomicBool>,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation> {
        let started = Instant::now();
        if prompt_ids.is_empty() {
            return Err(Error::Generate("the prompt is empty".into()));
        }
        if prompt_ids.len() >= self.context {
            return Err(Error::PromptTooLong {
                tokens: prompt_ids.len(),
                limit: self.context,
            });
        }
        let cancelled = || cancel.is_some_and(|c| c.load(Ordering::SeqCst));
        let mut timings = Timings {
            prompt_tokens: prompt_ids.len(),
            ..Timings::default()
        };
        let mut out = Vec::new();
        let mut stream = TextStream::default();
        if cancelled() {
            return Ok(Generation {
                token_ids: out,
                text: String::new(),
                finish: Finish::Cancelled,
                timings,
            });
        }
        let mut rng = Rng::new(params.seed);
        let (mut cache, mut logits) = self.prefill(prompt_ids)?;
        timings.prefill_ms = ms(started);
        let decode_start = Instant::now();
        let finish = loop {
            let next = pick(&logits, params, &mut rng);
            out.push(next);
            if out.len() == 1 {
                timings.first_token_ms = ms(started);
            }
            if self.stop.contains(&next) {
                break Finish::Stop;
            }
            let delta = stream.push(&self.tokenizer, &out)?;
            if !delta.is_empty() {
                on_text(&delta);
            }
            if out.len() >= params.max_new_tokens {
                break Finish::MaxTokens;
            }
            if cache.len() + 1 > self.context {
                break Finish::ContextFull;
            }
            if cancelled() {
                break Finish::Cancelled;
            }
            logits = self.decode_step(&mut cache, next)?;
        };
        timings.generated_tokens = out.len();
        timings.decode_ms = if out.len() > 1 { ms(decode_start) } else { 0.0 };
        let text = self.decode(&out)?;
        Ok(Generation {
            token_ids: out,
            text,
            finish,
            timings,
        })
    }

    /// Runs the prompt through the model from an empty cache, [`GeneratorOptions::prefill_chunk`] tokens
    /// per run. Returns the cache and the logits at the last position.
    pub fn prefill(&mut self, ids: &[u32]) -> Result<(KvCache, Vec<f32>)> {
        let mut cache = KvCache {
            values: self.empty_kv()?,
            len: 0,
        };
        let mut logits = Vec::new();
        for piece in ids.chunks(self.prefill_chunk) {
            logits = self.forward(&mut cache, piece)?;
        }
        if logits.is_empty() {
            return Err(Error::Generate("the prompt is empty".into()));
        }
        Ok((cache, logits))
    }

    /// Feeds one token after `cache`; returns the logits for the position after it.
    pub fn decode_step(&mut self, cache: &mut KvCache, id: u32) -> Result<Vec<f32>> {
        self.forward(cache, &[id])
    }

    fn empty_kv(&self) -> Result<Vec<DynValue>> {
        let shape = [1usize, self.io.n_kv_heads, 0, self.io.head_dim];
        let err = |e: ort::Error| Error::Generate(format!("empty KV cache: {e}"));
        (0..self.io.kv.len())
            .map(|_| match self.io.kv_type {
                KvType::F32 => Tensor::from_array((shape, Vec::<f32>::new()))
                    .map(|t| t.into_dyn())
                    .map_err(err),
                KvType::F16 => Tensor::from_array((shape, Vec::<half::f16>::new()))
                    .map(|t| t.into_dyn())
                    .map_err(err),
            })
            .collect()
    }

    /// One model run: `ids` after the cache's positions. Replaces the cache with the run's `present.*`.
    fn forward(&mut self, cache: &mut KvCache, ids: &[u32]) -> Result<Vec<f32>> {
        let err = |e: ort::Error| Error::Generate(e.to_string());
        let n = ids.len();
        let past = cache.len;
        let total = past + n;
        let ids_t = Tensor::from_array((
            [1, n],
            ids.iter().map(|&i| i64::from(i)).collect::<Vec<_>>(),
        ))
        .map_err(err)?;
        let mask_t = Tensor::from_array(([1, total], vec![1i64; total])).map_err(err)?;
        let mut inputs: Vec<(String, ort::session::SessionInputValue<'_>)> =
            Vec::with_capacity(3 + self.io.kv.len());
        inputs.push(("input_ids".into(), ids_t.into()));
        inputs.push(("attention_mask".into(), mask_t.into()));
        if self.io.has_position_ids {
            let pos: Vec<i64> = (past..total).map(|p| p as i64).collect();
            inputs.push((
                "position_ids".into(),
                Tensor::from_array(([1, n], pos)).map_err(err)?.into(),
            ));
        }
        let past_values = std::mem::take(&mut cache.values);
        if past_values.len() != self.io.kv.len() {
            return Err(Error::Generate("KV cache does not match the model".into()));
        }
        for ((name, _), v) in self.io.kv.iter().zip(past_values) {
            inputs.push((name.clone(), v.into()));
        }
        let mut outputs = self.session.run(inputs).map_err(err)?;
        let logits_v = outputs
            .remove("logits")
            .ok_or_else(|| Error::Generate("the model returned no logits".into()))?;
        let logits = last_row(&logits_v)?;
        let mut present = Vec::with_capacity(self.io.kv.len());
        for (_, out_name) in &self.io.kv {
            present.push(
                outputs
                    .remove(out_name.as_str())
                    .ok_or_else(|| Error::Generate(format!("the model returned no {out_name}")))?,
            );
        }
        cache.values = present;
        cache.len = total;
        Ok(logits)
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// The last position's row of a `[B, S, V]` (or `[B, V]`) logits tensor, as f32.
fn last_row(v: &DynValue) -> Result<Vec<f32>> {
    let row = |shape: &[i64], len: usize| -> Result<(usize, usize)> {
        let vocab = shape.last().copied().unwrap_or(0).max(0) as usize;
        if vocab == 0 || len < vocab {
            return Err(Error::Generate(format!(
                "unexpected logits shape {shape:?}"
            )));
        }
        Ok((len - vocab, len))
    };
    match v.dtype() {
        ValueType::Tensor {
            ty: TensorElementType::Float32,
            ..
        } => {
            let (shape, data) = v
                .try_extract_tensor::<f32>()
                .map_err(|e| Error::Generate(e.to_string()))?;
            let (a, b) = row(shape, data.len())?;
            Ok(data[a..b].to_vec())
        }
        ValueType::Tensor {
            ty: TensorElementType::Float16,
            ..
        } => {
            let (shape, data) = v
                .try_extract_tensor::<half::f16>()
                .map_err(|e| Error::Generate(e.to_string()))?;
            let (a, b) = row(shape, data.len())?;
            Ok(data[a..b].iter().map(|x| x.to_f32()).collect())
        }
        other => Err(Error::Generate(format!(
            "unsupported logits type {other:?}"
        ))),
    }
}

/// Finds the decoder's inputs and outputs by name and reads the KV cache's type and shape.
fn discover_io(session: &Session, config: &GenerationConfig) -> std::result::Result<Io, String> {
    let inputs = session.inputs();
    let outputs = session.outputs();
    let input_names: Vec<&str> = inputs.iter().map(|i| i.name()).collect();
    let output_names: Vec<&str> = outputs.iter().map(|o| o.name()).collect();
    for required in ["input_ids", "attention_mask"] {
        if !input_names.contains(&required) {
            return Err(format!(
                "the graph has no `{required}` input (inputs: {input_names:?})"
            ));
        }
    }
    if !output_names.contains(&"logits") {
        return Err(format!(
            "the graph has no `logits` output (outputs: {output_names:?})"
        ));
    }
    let mut kv = Vec::new();
    let mut kv_types = Vec::new();
    for layer in 0.. {
        let key = format!("past_key_values.{layer}.key");
        if !input_names.contains(&key.as_str()) {
            break;
        }
        for part in ["key", "value"] {
            let input = format!("past_key_values.{layer}.{part}");
            let output = format!("present.{layer}.{part}");
            let outlet = inputs
                .iter()
                .find(|i| i.name() == input)
                .ok_or_else(|| format!("the graph has `{key}` but no `{input}`"))?;
            if !output_names.contains(&output.as_str()) {
                return Err(format!("the graph has `{input}` but no `{output}` output"));
            }
            kv_types.push(outlet.dtype().clone());
            kv.push((input, output));
        }
    }
    if kv.is_empty() {
        return Err("the graph has no KV-cache inputs (past_key_values.{i}.key/value)".into());
    }
    let known = ["input_ids", "attention_mask", "position_ids"];
    if let Some(extra) = input_names
        .iter()
        .find(|n| !known.contains(n) && !n.starts_with("past_key_values."))
    {
        return Err(format!(
            "the graph has an input Sift does not know: `{extra}`"
        ));
    }
    let (ty, shape) = match &kv_types[0] {
        ValueType::Tensor { ty, shape, .. } => (*ty, shape.to_vec()),
        other => return Err(format!("KV-cache input is not a tensor: {other:?}")),
    };
    if kv_types.iter().any(|t| t != &kv_types[0]) {
        return Err("KV-cache inputs differ in type or shape between layers".into());
    }
    let kv_type = match ty {
        TensorElementType::Float32 => KvType::F32,
        TensorElementType::Float16 => KvType::F16,
        other => {
            return Err(format!(
                "KV cache of type {other:?} is not supported (f32, f16)"
            ))
        }
    };
    if shape.len() != 4 {
        return Err(format!(
            "KV-cache inputs have shape {shape:?}, wanted [batch, heads, past, head_dim]"
        ));
    }
    let dim = |d: i64, fallback: Option<usize>, what: &str| {
        if d > 0 {
            Ok(d as usize)
        } else {
            fallback.ok_or_else(|| format!("the graph leaves the KV cache's {what} open and generation.json does not give it"))
        }
    };
    let n_kv_heads = dim(shape[1], config.n_kv_heads, "head count")?;
    let head_dim = dim(shape[3], config.head_dim, "head size")?;
    Ok(Io {
        has_position_ids: input_names.contains(&"position_ids"),
        kv,
        kv_type,
        n_kv_heads,
        head_dim,
    })
}

/// Reads and checks `generation.json` in `dir`.
pub fn read_config(dir: &Path) -> Result<GenerationConfig> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::GeneratorMissing(format!("{} does not exist", path.display()))
        } else {
            Error::io(format!("reading {}", path.display()), e)
        }
    })?;
    let config: GenerationConfig =
        serde_json::from_str(&text).map_err(|e| Error::ModelInvalid {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    if config.context_length < 2 {
        return Err(Error::ModelInvalid {
            path,
            reason: "context_length is missing or too small".into(),
        });
    }
    Ok(config)
}

/// Builds a model folder's [`GenerationConfig`] from a Hugging Face repository's own files, as an
/// onnx-community export has them: `tokenizer_config.json` (the chat template, or `chat_template.jinja`;
/// the BOS/EOS token texts; `add_bos_token`), `generation_config.json` and `config.json` (end-of-text ids,
/// context length, KV heads and head size). `model_file` is the graph's path inside `dir`.
pub fn config_from_hub(
    dir: &Path,
    model_file: &str,
    model_id: &str,
    name: &str,
) -> Result<GenerationConfig> {
    let read_json = |file: &str, required: bool| -> Result<serde_json::Value> {
        let path = dir.join(file);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::ModelInvalid {
                path,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                Ok(serde_json::Value::Null)
            }
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    };
    let invalid = |file: &str, reason: String| Error::ModelInvalid {
        path: dir.join(file),
        reason,
    };
    let tok_config = read_json("tokenizer_config.json", true)?;
    let gen_config = read_json("generation_config.json", false)?;
    let config = read_json("config.json", true)?;

    let chat_template = match &tok_config["chat_template"] {
        serde_json::Value::String(t) => Some(t.clone()),
        // Several named templates: the default one.
        serde_json::Value::Array(list) => list
            .iter()
            .find(|t| t["name"] == "default")
            .or_else(|| list.first())
            .and_then(|t| t["template"].as_str())
            .map(str::to_string),
        _ => None,
    };
    let chat_template = match chat_template {
        Some(t) => t,
        None => std::fs::read_to_string(dir.join("chat_template.jinja")).map_err(|_| {
            invalid(
                "tokenizer_config.json",
                "no chat_template (and no chat_template.jinja)".into(),
            )
        })?,
    };
    // A special token's text is a string or `{"content": "..."}`.
    let token_text = |v: &serde_json::Value| -> Option<String> {
        v.as_str()
            .or_else(|| v["content"].as_str())
            .map(str::to_string)
    };
    let ids = |v: &serde_json::Value| -> Vec<u32> {
        match v {
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_u64())
                .map(|x| x as u32)
                .collect(),
            other => other.as_u64().map(|x| vec![x as u32]).unwrap_or_default(),
        }
    };
    let tokenizer_path = dir.join("tokenizer.json");
    let tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(|e| Error::ModelInvalid {
        path: tokenizer_path.clone(),
        reason: e.to_string(),
    })?;
    let id_of = |text: Option<String>| text.and_then(|t| tokenizer.token_to_id(&t));
    let eos_text_id = id_of(token_text(&tok_config["eos_token"]));
    let mut stop: Vec<u32> = Vec::new();
    for id in eos_text_id
        .into_iter()
        .chain(ids(&gen_config["eos_token_id"]))
        .chain(ids(&config["eos_token_id"]))
    {
        if !stop.contains(&id) {
            stop.push(id);
        }
    }
    if stop.is_empty() {
        return Err(invalid(
            "generation_config.json",
            "no end-of-text token (eos_token_id)".into(),
        ));
    }
    let bos_token_id = ids(&gen_config["bos_token_id"])
        .first()
        .copied()
        .or_else(|| ids(&config["bos_token_id"]).first().copied())
        .or_else(|| id_of(token_text(&tok_config["bos_token"])));
    let context_length = config["max_position_embeddings"]
        .as_u64()
        .or_else(|| config["n_positions"].as_u64())
        .ok_or_else(|| invalid("config.json", "no max_position_embeddings".into()))?
        as usize;
    let heads = config["num_attention_heads"].as_u64();
    let head_dim = config["head_dim"].as_u64().or_else(|| {
        let hidden = config["hidden_size"].as_u64()?;
        heads.filter(|&h| h > 0).map(|h| hidden / h)
    });
    let n_kv_heads = config["num_key_value_heads"].as_u64().or(heads);
    Ok(GenerationConfig {
        model_id: model_id.to_string(),
        name: name.to_string(),
        license: None,
        files: GenerationFiles {
            model: model_file.to_string(),
            tokenizer: "tokenizer.json".into(),
        },
        chat_template,
        eos_token_id: Some(stop[0]),
        stop_token_ids: stop,
        bos_token_id,
        add_bos_token: tok_config["add_bos_token"].as_bool().unwrap_or(false),
        context_length,
        n_kv_heads: n_kv_heads.map(|n| n as usize),
        head_dim: head_dim.map(|n| n as usize),
        downloaded_from: None,
    })
}

/// Writes `generation.json` for the answer model `spec` downloaded into `dir` at `revision`
/// ([`config_from_hub`] plus the manifest's name and licence), atomically, and checks it reads back.
pub fn write_hub_config(
    dir: &Path,
    spec: &crate::model::GeneratorSpec,
    revision: &str,
) -> Result<()> {
    let mut config = config_from_hub(dir, &spec.model.path, &spec.id, &spec.name)?;
    config.license = Some(spec.license.clone());
    config.downloaded_from = Some(format!("{}@{revision}", spec.hf_repo));
    let text = serde_json::to_string_pretty(&config)
        .map_err(|e| Error::Generate(format!("writing generation.json: {e}")))?;
    let tmp = dir.join(format!("{CONFIG_FILE}.tmp"));
    std::fs::write(&tmp, text).map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
    let path = dir.join(CONFIG_FILE);
    std::fs::rename(&tmp, &path)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    read_config(dir).map(|_| ())
}

/// Installed generator models: folders `models/<id>/` with a `generation.json` in the installed package's
/// bundle folders and in the cache (`scripts/setup.sh` builds the test model there), in that order.
pub fn installed() -> Vec<(GenerationConfig, PathBuf)> {
    let mut roots: Vec<PathBuf> = crate::paths::bundle_dirs()
        .into_iter()
        .map(|d| d.join("models"))
        .collect();
    roots.push(crate::paths::cache_dir().join("models"));
    let mut out: Vec<(GenerationConfig, PathBuf)> = Vec::new();
    for root in roots {
        let Ok(entries) = std::fs::read_dir(&root) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        dirs.sort();
        for dir in dirs {
            if let Ok(config) = read_config(&dir) {
                if dir.join(&config.files.model).is_file()
                    && !out.iter().any(|(c, _)| c.model_id == config.model_id)
                {
                    out.push((config, dir));
                }
            }
        }
    }
    out
}

/// The folder of the generator model to use: `id` when given, else the installed model with the largest
/// graph (the most capable one a user installed, over the small test model). A
/// [`Error::GeneratorMissing`] says how to get one.
pub fn locate(id: Option<&str>) -> Result<PathBuf> {
    let models = installed();
    let found = match id {
        Some(id) => models.into_iter().find(|(c, _)| c.model_id == id),
        None => models
            .into_iter()
            .max_by_key(|(c, d)| model_bytes(&d.join(&c.files.model))),
    };
    found.map(|(_, d)| d).ok_or_else(|| {
        Error::GeneratorMissing(match id {
            Some(id) => format!("model `{id}` was not found"),
            None => format!(
                "none was found in {}",
                crate::paths::cache_dir().join("models").display()
            ),
        })
    })
}

/// Bytes of an ONNX graph and its external data file (`<file>.data`, `<file>_data`), 0 when unreadable.
pub fn model_bytes(onnx: &Path) -> u64 {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut total = size(onnx);
    let name = onnx
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for extra in [format!("{name}.data"), format!("{name}_data")] {
        total += size(&onnx.with_file_name(extra));
    }
    total
}

/// Memory available to a new allocation, bytes: Linux's `MemAvailable`, bounded by the cgroup's limit.
/// `None` where unknown (other platforms): the check is skipped.
pub fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())?;
    let mut avail = kb * 1024;
    let cgroup = |p: &str| -> Option<u64> { std::fs::read_to_string(p).ok()?.trim().parse().ok() };
    if let (Some(max), Some(cur)) = (
        cgroup("/sys/fs/cgroup/memory.max"),
        cgroup("/sys/fs/cgroup/memory.current"),
    ) {
        avail = avail.min(max.saturating_sub(cur));
    }
    Some(avail)
}

/// Fails with [`Error::NotEnoughMemory`] when `model_bytes` × [`MEMORY_FACTOR`] exceeds `available` (unknown:
/// no check).
pub fn check_memory(model: &str, model_bytes: u64, available: Option<u64>) -> Result<()> {
    let Some(available) = available else {
        return Ok(());
    };
    let needed = (model_bytes as f64 * MEMORY_FACTOR) as u64;
    if needed > available {
        return Err(Error::NotEnoughMemory {
            model: model.to_string(),
            needed_mb: needed / (1 << 20),
            available_mb: available / (1 << 20),
        });
    }
    Ok(())
}

/// A template environment holding `template` as "chat", with what Hugging Face templates call:
/// `raise_exception`, Python string methods (`startswith`, `strip`, ...) and `tojson`.
fn template_env(
    template: &str,
) -> std::result::Result<minijinja::Environment<'static>, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_function(
        "raise_exception",
        |msg: String| -> std::result::Result<String, minijinja::Error> {
            Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                msg,
            ))
        },
    );
    // Hugging Face renders templates with trim_blocks and lstrip_blocks.
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()?,
    );
    env.add_template_owned("chat", template.to_string())?;
    Ok(env)
}

/// Turns a growing list of token ids into text deltas that never end inside a UTF-8 character: the byte-level
/// decoder yields U+FFFD for an incomplete character, which is held back until its last byte arrives.
/// Decodes only a short window (the tokens since the last emitted delta plus the ones before them, so
/// decoders that treat a leading space specially see context), as Hugging Face's streamers do: the cost per
/// token stays constant however long the reply.
#[derive(Debug, Default)]
pub struct TextStream {
    /// Start of the window: tokens before it are done with.
    prefix: usize,
    /// Tokens up to here have been emitted as text.
    read: usize,
}

impl TextStream {
    /// The text `ids` (all tokens so far) add after what was returned before.
    pub fn push(&mut self, tokenizer: &Tokenizer, ids: &[u32]) -> Result<String> {
        let decode = |ids: &[u32]| {
            tokenizer
                .decode(ids, true)
                .map_err(|e| Error::Generate(format!("decoding failed: {e}")))
        };
        if ids.len() <= self.read {
            return Ok(String::new());
        }
        let before = decode(&ids[self.prefix..self.read])?;
        let now = decode(&ids[self.prefix..])?;
        if now.len() <= before.len()
            || now.ends_with('\u{FFFD}')
            || !now.is_char_boundary(before.len())
        {
            return Ok(String::new());
        }
        let delta = now[before.len()..].to_string();
        self.prefix = self.read;
        self.read = ids.len();
        Ok(delta)
    }
}

/// A small, seeded, portable RNG (SplitMix64): sampling must be reproducible across platforms and crate
/// versions.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The index of the largest value (the first of equals).
fn argmax(v: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as u32
}

/// Picks the next token: greedy at temperature 0, else top-p sampling.
fn pick(logits: &[f32], params: &GenerateParams, rng: &mut Rng) -> u32 {
    if params.temperature <= 0.0 || logits.is_empty() {
        return argmax(logits);
    }
    let t = params.temperature as f64;
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let mut probs: Vec<(u32, f64)> = logits
        .iter()
        .enumerate()
        .map(|(i, &l)| (i as u32, ((l as f64 - max) / t).exp()))
        .collect();
    let sum: f64 = probs.iter().map(|p| p.1).sum();
    if !(sum.is_finite() && sum > 0.0) {
        return argmax(logits);
    }
    probs.iter_mut().for_each(|p| p.1 /= sum);
    probs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let top_p = f64::from(params.top_p.clamp(0.0, 1.0));
    let mut kept = 0;
    let mut mass = 0.0;
    for p in &probs {
        kept += 1;
        mass += p.1;
        if mass >= top_p {
            break;
        }
    }
    let nucleus = &probs[..kept.max(1)];
    let total: f64 = nucleus.iter().map(|p| p.1).sum();
    let mut r = rng.next_f64() * total;
    for p in nucleus {
        r -= p.1;
        if r < 0.0 {
            return p.0;
        }
    }
    nucleus[nucleus.len() - 1].0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_first_maximum() {
        let p = GenerateParams::default();
        let mut rng = Rng::new(1);
        assert_eq!(pick(&[0.1, 3.0, 3.0, -1.0], &p, &mut rng), 1);
    }

    #[test]
    fn top_p_keeps_only_the_nucleus() {
        // Token 2 holds almost all the mass: with top_p 0.5 nothing else can be drawn.
        let p = GenerateParams {
            temperature: 1.0,
            top_p: 0.5,
            ..GenerateParams::default()
        };
        let mut rng = Rng::new(7);
        for _ in 0..200 {
            assert_eq!(pick(&[0.0, 1.0, 10.0, 2.0], &p, &mut rng), 2);
        }
        // With everything allowed, a flat distribution draws every token, reproducibly per seed.
        let p = GenerateParams {
            temperature: 1.0,
            top_p: 1.0,
            ..GenerateParams::default()
        };
        let draw = |seed| {
            let mut rng = Rng::new(seed);
            (0..100)
                .map(|_| pick(&[1.0; 4], &p, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(3), draw(3));
        assert_ne!(draw(3), draw(4));
        let seen = draw(3);
        assert!((0..4).all(|t| seen.contains(&t)), "{seen:?}");
    }

    #[test]
    fn memory_check_refuses_a_model_that_does_not_fit() {
        let gib = 1u64 << 30;
        assert!(check_memory("m", gib, Some(4 * gib)).is_ok());
        assert!(check_memory("m", gib, None).is_ok());
        let err = check_memory("big", 2 * gib, Some(gib)).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::NotEnoughMemory { .. }));
        assert!(msg.contains("big") && msg.contains("1024 MB"), "{msg}");
    }

    #[test]
    fn chatml_template_renders_like_hugging_face() {
        let t = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
        let env = template_env(t).unwrap();
        let out = env
            .get_template("chat")
            .unwrap()
            .render(minijinja::context! {
                messages => minijinja::value::Serde(vec![ChatMessage::new("user", "Hi?")]),
                add_generation_prompt => true,
            })
            .unwrap();
        assert_eq!(out, "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n");
        // Python string methods and raise_exception, as Qwen templates use them.
        let env = template_env("{% if messages[0].content.startswith('x') %}{{ raise_exception('no') }}{% endif %}{{ messages[0].content.strip() }}").unwrap();
        let t = env.get_template("chat").unwrap();
        assert_eq!(
            t.render(minijinja::context! { messages => minijinja::value::Serde(vec![ChatMessage::new("user", " a ")]) })
                .unwrap(),
            "a"
        );
        assert!(t
            .render(minijinja::context! { messages => minijinja::value::Serde(vec![ChatMessage::new("user", "x")]) })
            .is_err());
    }
}
