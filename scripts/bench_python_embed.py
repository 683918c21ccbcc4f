"""Embedding throughput of a plain Python pipeline: `tokenizers` + `onnxruntime` + numpy.

The yardstick for `sift bench indexing DIR`: after indexing, sift writes the units the index holds (every
passage and window, document prefix included), the same ONNX file, batch size and thread count it used into
a JSON file, writes this script (embedded in the binary) next to it, runs

    <cache>/venv/bin/python bench_python_embed.py CONFIG.json

(the venv that scripts/setup.sh creates; `--python PATH` picks another interpreter) and prints the result as
the "Python onnxruntime + tokenizers" row.

CONFIG.json: {"model": "<.onnx>", "tokenizer": "<tokenizer.json>", "texts": [...], "batch": N, "threads": T,
"max_tokens": 256, and optionally "pooling": "mean" | "cls" (default mean), "normalize": true,
"output": "<output name>" (default the graph's first output)}.

The work is Sift's (crates/sift-core/src/embed.rs): tokenize with truncation to max_tokens and no padding,
sort by token count, batches of N padded to their longest text, one session run per batch, pooling under
the attention mask, L2 normalisation. The session: T intra-op threads, 1 inter-op thread, sequential
execution, all graph optimisations, CPU. Timed: the whole pipeline over all texts (tokenize + infer + pool),
not the interpreter start or the session load. Prints one JSON line: {"seconds", "texts", "tokens" (tokens
fed to the model, padding excluded), "onnxruntime", "tokenizers"}.
"""

import json
import sys
import time

import numpy as np
import onnxruntime as ort
import tokenizers


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: bench_python_embed.py CONFIG.json")
    with open(sys.argv[1], encoding="utf-8") as f:
        cfg = json.load(f)
    texts = cfg["texts"]
    batch = max(1, int(cfg["batch"]))
    threads = max(1, int(cfg["threads"]))

    tok = tokenizers.Tokenizer.from_file(cfg["tokenizer"])
    tok.no_padding()
    tok.enable_truncation(max_length=int(cfg.get("max_tokens", 256)))
    pad_ids = [tok.token_to_id(t) for t in ("[PAD]", "<pad>")]
    pad_id = next((i for i in pad_ids if i is not None), 0)

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.enable_mem_pattern = False  # as Sift: every batch has its own shape
    session = ort.InferenceSession(cfg["model"], opts, providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]
    output = cfg.get("output") if cfg.get("output") in outputs else outputs[0]
    inputs = [i.name for i in session.get_inputs()]
    known = {"input_ids", "attention_mask", "token_type_ids"}
    if not set(inputs) <= known:
        sys.exit(f"unsupported model inputs: {sorted(set(inputs) - known)}")
    cls = cfg.get("pooling", "mean") == "cls"
    normalize = bool(cfg.get("normalize", True))

    start = time.perf_counter()
    encodings = tok.encode_batch(texts, add_special_tokens=True)
    order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
    vectors = [None] * len(texts)
    tokens = 0
    for b in range(0, len(order), batch):
        rows = order[b : b + batch]
        seq = max(1, max(len(encodings[i].ids) for i in rows))
        ids = np.full((len(rows), seq), pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), seq), dtype=np.int64)
        for r, i in enumerate(rows):
            n = len(encodings[i].ids)
            ids[r, :n] = encodings[i].ids
            mask[r, :n] = encodings[i].attention_mask
            tokens += n
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = session.run([output], {name: feeds[name] for name in inputs})
        if cls:
            pooled = hidden[:, 0, :]
        else:
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        if normalize:
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            pooled = pooled / np.where(norms > 0, norms, 1.0)
        for r, i in enumerate(rows):
            vectors[i] = pooled[r]
    seconds = time.perf_counter() - start

    print(
        json.dumps(
            {
                "seconds": seconds,
                "texts": len(texts),
                "tokens": tokens,
                "onnxruntime": ort.__version__,
                "tokenizers": tokenizers.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
