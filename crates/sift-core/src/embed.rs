//! "Here are texts, give me their vectors": tokenizer + ONNX Runtime session for one embedding model.
//!
//! Texts are tokenized, sorted by length and run in batches padded only to the longest text of the batch
//! (dynamic padding), then pooled (mean under the attention mask, or CLS) and L2-normalised as the model's
//! manifest says. Output order always equals input order, and a text's vector does not depend on which
//! other texts share its batch. A chunk whose token ids the chunker already has ([`Unit::tokens`]) is not
//! tokenized again: its ids are framed with the special tokens and the document prefix ([`Framing`]), which
//! gives exactly the tokenizer's own output (checked when the model loads; otherwise texts are tokenized).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;
use tokenizers::{Tokenizer, TruncationParams};

use crate::chunk::Unit;
use crate::error::{Error, Result};
use crate::model::{ModelFiles, ModelSpec, Pooling, Precision};
use crate::runtime::{self, Provider};

/// How to run a model.
#[derive(Debug, Clone)]
pub struct EmbedOptions {
    /// Intra-op threads for ONNX Runtime.
    pub threads: usize,
    /// Texts per inference call.
    pub batch_size: usize,
    /// Try accelerated execution providers (CoreML/CUDA) before the CPU.
    pub accelerate: bool,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions {
            threads: runtime::default_threads(),
            batch_size: 8,
            accelerate: true,
        }
    }
}

/// One embedded text.
#[derive(Debug, Clone)]
pub struct Embedding {
    pub vector: Vec<f32>,
    /// Tokens fed to the model (special tokens included).
    pub tokens: usize,
    /// Whether the text was longer than the model's window and only its beginning was embedded.
    pub truncated: bool,
}

/// Tokenized texts padded to a common length, ready for the model.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Positions of these rows in the caller's input.
    rows: Vec<usize>,
    seq: usize,
    ids: Vec<i64>,
    mask: Vec<i64>,
    tokens: Vec<usize>,
    overflowed: Vec<bool>,
}

impl Batch {
    /// Texts in the batch.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Tokens of its texts (special tokens included, padding not).
    pub fn tokens(&self) -> usize {
        self.tokens.iter().sum()
    }
}

/// A loaded embedding model. Not `Sync`: share it behind a mutex, or load one per thread.
pub struct Embedder {
    session: Session,
    tokenizer: Tokenizer,
    spec: ModelSpec,
    precision: Precision,
    provider: Provider,
    batch_size: usize,
    output_index: usize,
    has_token_type_ids: bool,
    /// The tokenizer's padding token (`[PAD]` = 0 for BERT, `<pad>` = 1 for XLM-R/E5); padded positions are
    /// masked, but XLM-R graphs derive position ids from which ids are padding.
    pad_id: i64,
    /// How documents' token ids become the model's input; `None` when this tokenizer or prefix needs the
    /// text tokenized whole.
    framing: Option<Framing>,
}

/// One text's model input: token ids with special tokens, truncated to the model's window.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Encoded {
    ids: Vec<u32>,
    /// Whether the text was longer than the window (only its beginning is in `ids`).
    overflowed: bool,
}

/// A text on its way into the model: to tokenize, or already tokenized.
enum Input {
    /// Prefixed text; `precut` when it was cut before tokenizing (far longer than the window).
    Text {
        text: String,
        precut: bool,
    },
    Encoded(Encoded),
}

/// Builds a document's model input from its token ids (as the chunker read them off, special tokens
/// excluded) instead of tokenizing its text again: `head` + prefix ids + ids + `tail`, the content cut to
/// the window the way the tokenizer truncates. Exact only for a word-local tokenizer (`chunk::word_local`:
/// a text's tokens do not depend on what precedes it across a space) and a prefix that ends at a word
/// boundary; [`Framing::new`] checks that on probe texts against the tokenizer itself and declines
/// otherwise, so a model it does not fit is only slower, never different.
#[derive(Debug)]
struct Framing {
    head: Vec<u32>,
    prefix: Vec<u32>,
    tail: Vec<u32>,
    max_tokens: usize,
}

impl Framing {
    /// `tokenizer` as [`load_tokenizer`] returns it (truncating at the window, no padding).
    fn new(tokenizer: &Tokenizer, prefix: &str) -> Option<Framing> {
        if !crate::chunk::word_local(tokenizer)
            || !(prefix.is_empty() || prefix.ends_with(char::is_whitespace))
        {
            return None;
        }
        let max_tokens = tokenizer.get_truncation()?.max_length;
        let mut whole = tokenizer.clone();
        whole.with_truncation(None).ok()?;
        let ids = |t: &str| whole.encode(t, false).ok().map(|e| e.get_ids().to_vec());
        let probe = tokenizer.encode("probe", true).ok()?;
        let mask = probe.get_special_tokens_mask();
        let first = mask.iter().position(|&m| m == 0)?;
        let last = mask.iter().rposition(|&m| m == 0)?;
        let framing = Framing {
            head: probe.get_ids()[..first].to_vec(),
            prefix: ids(prefix)?,
            tail: probe.get_ids()[last + 1..].to_vec(),
            max_tokens,
        };
        let long = "A sentence, with punctuation; naïve café 漢字 x=f(1). ".repeat(max_tokens / 4);
        for text in ["", "The résumé: \"no\" — not (that) one!", &long] {
            let want = tokenizer.encode(format!("{prefix}{text}"), true).ok()?;
            let got = framing.frame(&ids(text)?);
            if got.ids != want.get_ids() || got.overflowed == want.get_overflowing().is_empty() {
                tracing::debug!("token ids are framed by tokenizing texts whole for this model");
                return None;
            }
        }
        Some(framing)
    }

    fn frame(&self, tokens: &[u32]) -> Encoded {
        let room = self
            .max_tokens
            .saturating_sub(self.head.len() + self.tail.len());
        let content = self.prefix.len() + tokens.len();
        let mut ids = Vec::with_capacity(self.head.len() + content.min(room) + self.tail.len());
        ids.extend_from_slice(&self.head);
        ids.extend(self.prefix.iter().chain(tokens).take(room));
        ids.extend_from_slice(&self.tail);
        Encoded {
            ids,
            overflowed: content > room,
        }
    }
}

/// Texts longer than this many bytes per window token are cut before tokenizing: the model would only see
/// their beginning anyway, and tokenizing megabytes to throw them away costs seconds.
const BYTES_PER_TOKEN_BOUND: usize = 64;

impl Embedder {
    /// Loads a model's tokenizer and ONNX graph and starts a session on the best available provider.
    pub fn load(spec: &ModelSpec, files: &ModelFiles, options: &EmbedOptions) -> Result<Self> {
        let tokenizer = load_tokenizer(&files.tokenizer, spec.max_tokens)?;
        let pad_id = ["[PAD]", "<pad>"]
            .iter()
            .find_map(|t| tokenizer.token_to_id(t))
            .map_or(0, i64::from);
        if !files.onnx.is_file() {
            return Err(Error::ModelInvalid {
                path: files.onnx.clone(),
                reason: "file does not exist".into(),
            });
        }
        let threads = options.threads.max(1);
        let (session, provider) = open_session(&files.onnx, threads, options.accelerate)?;
        let outputs: Vec<String> = session
            .outputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        let output_index = outputs.iter().position(|n| *n == spec.output).unwrap_or(0);
        let has_token_type_ids = session
            .inputs()
            .iter()
            .any(|i| i.name() == "token_type_ids");
        tracing::info!(model = %spec.id, precision = %files.precision, %provider, threads,
            onnx = %files.onnx.display(), "embedding model loaded");
        Ok(Embedder {
            session,
            spec: spec.clone(),
            precision: files.precision,
            provider,
            batch_size: options.batch_size.max(1),
            output_index,
            has_token_type_ids,
            pad_id,
            framing: Framing::new(&tokenizer, &spec.document_prefix),
            tokenizer,
        })
    }

    /// The model this embedder runs.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.spec.dim
    }

    /// Precision of the loaded graph.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The execution provider the session runs on.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The tokenizer (with the model's truncation), e.g. for token-bounded chunking.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Embeds documents (with the model's document prefix).
    pub fn embed_documents<S: AsRef<str>>(&mut self, texts: &[S]) -> Result<Vec<Embedding>> {
        let prefix = self.spec.document_prefix.clone();
        self.embed_with_prefix(&prefix, texts, None)
    }

    /// [`Embedder::embed_documents`] for chunks' units, using their token ids where they have them, and
    /// checking `cancel` before every model run: once it is set, the call ends with [`Error::Cancelled`]
    /// within one batch (the indexer's pause latency, whatever the number of texts).
    pub fn embed_units_until(
        &mut self,
        units: &[Unit<'_>],
        cancel: &AtomicBool,
    ) -> Result<Vec<Embedding>> {
        let prefix = &self.spec.document_prefix;
        let inputs = units
            .iter()
            .map(|u| match (&self.framing, u.tokens) {
                // A text long enough to be cut before tokenizing takes the text path, so its vector is
                // the same whichever way it arrives.
                (Some(f), Some(tokens)) if u.text.len() <= self.precut_bytes() => {
                    Input::Encoded(f.frame(tokens))
                }
                _ => self.text_input(prefix, u.text),
            })
            .collect::<Vec<_>>();
        let framed = inputs
            .iter()
            .filter(|i| matches!(i, Input::Encoded(_)))
            .count();
        tracing::debug!(
            framed,
            tokenized = inputs.len() - framed,
            "embedding document units"
        );
        self.embed_inputs(inputs, Some(cancel))
    }

    /// Embeds one search query (with the model's query prefix).
    pub fn embed_query(&mut self, text: &str) -> Result<Vec<f32>> {
        let prefix = self.spec.query_prefix.clone();
        let mut v = self.embed_with_prefix(&prefix, &[text], None)?;
        v.pop()
            .map(|e| e.vector)
            .ok_or_else(|| Error::Embed("no output".into()))
    }

    fn embed_with_prefix<S: AsRef<str>>(
        &mut self,
        prefix: &str,
        texts: &[S],
        cancel: Option<&AtomicBool>,
    ) -> Result<Vec<Embedding>> {
        let inputs = texts
            .iter()
            .map(|t| self.text_input(prefix, t.as_ref()))
            .collect();
        self.embed_inputs(inputs, cancel)
    }

    /// Texts longer than this are cut before tokenizing.
    fn precut_bytes(&self) -> usize {
        self.spec.max_tokens * BYTES_PER_TOKEN_BOUND
    }

    fn text_input(&self, prefix: &str, text: &str) -> Input {
        let cut = self.precut_bytes();
        let precut = text.len() > cut;
        let text = if precut {
            &text[..floor_char_boundary(text, cut)]
        } else {
            text
        };
        Input::Text {
            text: format!("{prefix}{text}"),
            precut,
        }
    }

    fn embed_inputs(
        &mut self,
        inputs: Vec<Input>,
        cancel: Option<&AtomicBool>,
    ) -> Result<Vec<Embedding>> {
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let n = inputs.len();
        let batches = self.prepare(inputs)?;
        let mut out: Vec<Option<Embedding>> = vec![None; n];
        for batch in &batches {
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Err(Error::Cancelled);
            }
            let vectors = self.run(batch)?;
            for ((&i, v), (&tokens, &overflow)) in batch
                .rows
                .iter()
                .zip(vectors)
                .zip(batch.tokens.iter().zip(&batch.overflowed))
            {
                out[i] = Some(Embedding {
                    vector: v,
                    tokens,
                    truncated: overflow,
                });
            }
        }
        out.into_iter()
            .map(|e| e.ok_or_else(|| Error::Embed("missing output row".into())))
            .collect()
    }

    /// Tokenizes the texts among `inputs` (in one parallel call); the others are ready already.
    fn encode(&self, inputs: Vec<Input>) -> Result<Vec<Encoded>> {
        let mut texts = Vec::new();
        let mut precut = Vec::new();
        let mut out: Vec<Option<Encoded>> = Vec::with_capacity(inputs.len());
        for input in inputs {
            match input {
                Input::Text { text, precut: cut } => {
                    texts.push(text);
                    precut.push(cut);
                    out.push(None);
                }
                Input::Encoded(e) => out.push(Some(e)),
            }
        }
        let mut encoded = self
            .tokenizer
            .encode_batch(texts, true)
            .map_err(|e| Error::Embed(format!("tokenizing failed: {e}")))?
            .into_iter()
            .zip(precut)
            .map(|(e, cut)| Encoded {
                ids: e.get_ids().to_vec(),
                overflowed: cut || !e.get_overflowing().is_empty(),
            });
        out.into_iter()
            .map(|e| {
                e.or_else(|| encoded.next())
                    .ok_or_else(|| Error::Embed("the tokenizer lost a text".into()))
            })
            .collect()
    }

    /// Encodes `inputs` into length-sorted batches padded to their longest member.
    fn prepare(&self, inputs: Vec<Input>) -> Result<Vec<Batch>> {
        let encoded = self.encode(inputs)?;
        let mut order: Vec<usize> = (0..encoded.len()).collect();
        order.sort_by_key(|&i| encoded[i].ids.len());
        let mut batches = Vec::new();
        for rows in order.chunks(self.batch_size) {
            let seq = rows
                .iter()
                .map(|&i| encoded[i].ids.len())
                .max()
                .unwrap_or(0)
                .max(1);
            let n = rows.len();
            let mut ids = vec![self.pad_id; n * seq];
            let mut mask = vec![0i64; n * seq];
            for (row, &i) in rows.iter().enumerate() {
                for (col, &id) in encoded[i].ids.iter().enumerate() {
                    ids[row * seq + col] = i64::from(id);
                    mask[row * seq + col] = 1;
                }
            }
            batches.push(Batch {
                rows: rows.to_vec(),
                seq,
                ids,
                mask,
                tokens: rows.iter().map(|&i| encoded[i].ids.len()).collect(),
                overflowed: rows.iter().map(|&i| encoded[i].overflowed).collect(),
            });
        }
        Ok(batches)
    }

    /// Benchmark support: tokenizes `texts` into model-ready batches (the part [`Embedder::forward`] excludes).
    pub fn prepare_documents<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Batch>> {
        let prefix = &self.spec.document_prefix;
        self.prepare(
            texts
                .iter()
                .map(|t| self.text_input(prefix, t.as_ref()))
                .collect(),
        )
    }

    /// Benchmark support: runs the ONNX session alone on a prepared batch — the limit the full pipeline is
    /// measured against.
    pub fn forward(&mut self, batch: &Batch) -> Result<()> {
        self.run(batch).map(|_| ())
    }

    /// Sets how many texts go into one inference call.
    pub fn set_batch_size(&mut self, n: usize) {
        self.batch_size = n.max(1);
    }

    fn run(&mut self, batch: &Batch) -> Result<Vec<Vec<f32>>> {
        let err = |e: ort::Error| Error::Embed(e.to_string());
        let (n, seq, mask) = (batch.rows.len(), batch.seq, &batch.mask);
        let ids_t = Tensor::from_array(([n, seq], batch.ids.clone())).map_err(err)?;
        let mask_t = Tensor::from_array(([n, seq], mask.clone())).map_err(err)?;
        let outputs = if self.has_token_type_ids {
            let types_t = Tensor::from_array(([n, seq], vec![0i64; n * seq])).map_err(err)?;
            self.session
                .run(ort::inputs!["input_ids" => ids_t, "attention_mask" => mask_t, "token_type_ids" => types_t])
                .map_err(err)?
        } else {
            self.session
                .run(ort::inputs!["input_ids" => ids_t, "attention_mask" => mask_t])
                .map_err(err)?
        };
        let (shape, data) = outputs[self.output_index]
            .try_extract_tensor::<f32>()
            .map_err(err)?;
        let dim = self.spec.dim;
        let dims: Vec<i64> = shape.iter().copied().collect();
        if dims.len() != 3
            || dims[0] as usize != n
            || dims[1] as usize != seq
            || dims[2] as usize != dim
        {
            return Err(Error::Embed(format!(
                "unexpected model output shape {dims:?}, wanted [{n}, {seq}, {dim}]"
            )));
        }
        let mut result = Vec::with_capacity(n);
        for row in 0..n {
            let base = row * seq * dim;
            let mut v = vec![0f32; dim];
            match self.spec.pooling {
                Pooling::Cls => v.copy_from_slice(&data[base..base + dim]),
                Pooling::Mean => {
                    let mut count = 0f32;
                    for t in 0..seq {
                        if mask[row * seq + t] == 0 {
                            continue;
                        }
                        count += 1.0;
                        let tok = &data[base + t * dim..base + (t + 1) * dim];
                        for (acc, x) in v.iter_mut().zip(tok) {
                            *acc += x;
                        }
                    }
                    let count = count.max(1e-9);
                    v.iter_mut().for_each(|x| *x /= count);
                }
            }
            if self.spec.normalize {
                normalize(&mut v);
            }
            result.push(v);
        }
        Ok(result)
    }
}

/// Starts a session for `onnx` in the shared environment on the best provider that works: the accelerated
/// ones this build has (when `accelerate`), then the CPU. Returns the provider it runs on. Shared by the
/// embedder and the generator.
pub(crate) fn open_session(
    onnx: &Path,
    threads: usize,
    accelerate: bool,
) -> Result<(Session, Provider)> {
    let env = runtime::environment()?;
    let mut attempts: Vec<Provider> = if accelerate {
        runtime::accelerated_providers()
    } else {
        Vec::new()
    };
    attempts.push(Provider::Cpu);
    let mut last_err = None;
    for provider in attempts {
        match build_session(env, onnx, threads, provider) {
            Ok(session) => return Ok((session, provider)),
            Err(e) => {
                if provider != Provider::Cpu {
                    tracing::warn!(%provider, error = %e, "execution provider unavailable, falling back");
                }
                last_err = Some(e);
            }
        }
    }
    Err(last_err.unwrap_or_else(|| Error::Runtime("no execution provider".into())))
}

fn build_session(
    env: &ort::environment::Environment,
    onnx: &Path,
    threads: usize,
    provider: Provider,
) -> Result<Session> {
    let invalid = |e: String| Error::ModelInvalid {
        path: onnx.to_path_buf(),
        reason: e,
    };
    let mut builder = Session::builder(env)
        .map_err(|e| Error::Runtime(e.to_string()))?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| Error::Runtime(e.to_string()))?
        .with_intra_threads(threads)
        .map_err(|e| Error::Runtime(e.to_string()))?
        // Every batch has its own shape (dynamic padding): memory patterns planned per shape only grow memory.
        .with_memory_pattern(false)
        .map_err(|e| Error::Runtime(e.to_string()))?;
    if std::env::var_os("SIFT_NO_SPIN").is_some() {
        builder = builder
            .with_intra_op_spinning(false)
            .map_err(|e| Error::Runtime(e.to_string()))?;
    }
    match provider {
        Provider::Cpu => {}
        #[cfg(feature = "cuda")]
        Provider::Cuda => {
            builder = builder
                .with_execution_providers([ort::ep::CUDA::default().build().error_on_failure()])
                .map_err(|e| Error::Runtime(e.to_string()))?;
        }
        #[cfg(target_os = "macos")]
        Provider::CoreMl => {
            builder = builder
                .with_execution_providers([ort::ep::CoreML::default().build().error_on_failure()])
                .map_err(|e| Error::Runtime(e.to_string()))?;
        }
        #[allow(unreachable_patterns)]
        other => {
            return Err(Error::Runtime(format!(
                "{other} support is not compiled into this build"
            )))
        }
    }
    builder
        .commit_from_file(onnx)
        .map_err(|e| invalid(e.to_string()))
}

/// Loads `tokenizer.json`, truncating at the model's window and without padding (Sift pads per batch).
pub fn load_tokenizer(path: &Path, max_tokens: usize) -> Result<Tokenizer> {
    if !path.is_file() {
        return Err(Error::ModelInvalid {
            path: path.to_path_buf(),
            reason: "tokenizer file does not exist".into(),
        });
    }
    let mut tok = Tokenizer::from_file(path).map_err(|e| Error::ModelInvalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    tok.with_padding(None);
    tok.with_truncation(Some(TruncationParams {
        max_length: max_tokens,
        ..Default::default()
    }))
    .map_err(|e| Error::ModelInvalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(tok)
}

/// Scales `v` to unit length (leaves an all-zero vector alone).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Dot product, written so the compiler vectorises it (8 independent accumulators).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// The largest index ≤ `i` that is a char boundary of `s`.
pub fn floor_char_boundary(s: &str, i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    let mut i = i;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_naive() {
        let a: Vec<f32> = (0..389).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..389).map(|i| (i as f32 * 0.11).cos()).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-3);
    }

    #[test]
    fn char_boundary_never_splits_a_char() {
        let s = "aé€😀";
        for i in 0..=s.len() + 2 {
            let j = floor_char_boundary(s, i);
            assert!(s.is_char_boundary(j) && j <= i.max(s.len()));
        }
    }

    /// The model's tokenizer as the embedder loads it (installed by `scripts/setup.sh`).
    fn model_tokenizer() -> Tokenizer {
        let spec = crate::model::spec("all-MiniLM-L6-v2").unwrap();
        let files = crate::model::locate(&spec, Precision::Int8, None)
            .expect("the model is installed by scripts/setup.sh (run it first)");
        load_tokenizer(&files.tokenizer, spec.max_tokens).unwrap()
    }

    #[test]
    fn framed_chunk_tokens_are_what_tokenizing_the_text_gives() {
        use crate::chunk::{ChunkOptions, Chunker, TextKind};
        let tokenizer = model_tokenizer();
        let chunker = Chunker::new(&tokenizer, ChunkOptions::default()).unwrap();
        let mut text = String::new();
        for i in 0..900 {
            text.push_str(match i % 6 {
                0 => "The café's naïve résumé was ÜBER-long; it said: \"no, not that one!\" ",
                1 => "漢字とかなの文章も混ざっています。中文句子在这里。 ",
                2 => "fn main() { let x = vec![1, 2, 3]; } see https://example.com/a?b=c. ",
                3 => "Braising beef slowly for three hours until tender.\n",
                4 => "Supercalifragilisticexpialidocious-antidisestablishmentarianism-pneumonoultramicroscopicsilicovolcanoconiosis. ",
                _ => "Short. Shorter! (parenthetical) [bracketed] 🙂\n\n",
            });
        }
        let chunks: Vec<_> = chunker.stream(&text, TextKind::Plain, &[]).collect();
        for prefix in ["", "passage: "] {
            let framing =
                Framing::new(&tokenizer, prefix).expect("MiniLM's tokenizer is word-local");
            let mut framed = 0;
            for unit in chunks.iter().flat_map(|c| c.texts()) {
                let Some(tokens) = unit.tokens else { continue };
                let want = tokenizer
                    .encode(format!("{prefix}{}", unit.text), true)
                    .unwrap();
                let got = framing.frame(tokens);
                assert_eq!(got.ids, want.get_ids(), "{prefix:?} {:?}", unit.text);
                assert_eq!(got.overflowed, !want.get_overflowing().is_empty());
                framed += 1;
            }
            assert!(framed > 200, "{framed}");
        }
        // Longer than the window: cut as the tokenizer cuts, and marked.
        let mut whole = tokenizer.clone();
        whole.with_truncation(None).unwrap();
        let long = "word and another word, ".repeat(200);
        let framing = Framing::new(&tokenizer, "passage: ").unwrap();
        let got = framing.frame(whole.encode(long.as_str(), false).unwrap().get_ids());
        let want = tokenizer.encode(format!("passage: {long}"), true).unwrap();
        assert_eq!(got.ids, want.get_ids());
        assert!(got.overflowed && got.ids.len() == 256);
        // A prefix glued to the text could merge with its first word: framing declines.
        assert!(Framing::new(&tokenizer, "passage:").is_none());
    }

    #[test]
    fn missing_tokenizer_is_a_clear_error() {
        let err = load_tokenizer(Path::new("/nonexistent/tokenizer.json"), 256).unwrap_err();
        assert!(
            err.to_string().contains("tokenizer file does not exist"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("tokenizer.json");
        std::fs::write(&bad, b"{ not json").unwrap();
        assert!(matches!(
            load_tokenizer(&bad, 256),
            Err(Error::ModelInvalid { .. })
        ));
    }
}
