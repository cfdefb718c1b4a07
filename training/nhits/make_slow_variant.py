#!/usr/bin/env python3
"""Build nhits-price version 3-slow: version 1's graph plus a chain of large MatMuls whose result is
multiplied by zero. DELIBERATELY BAD: it exists so that a canary of it fails its latency analysis.

The forecast is exactly version 1's (the chain adds 0 to it), the inputs and outputs are the same
(`window` float32 [batch, 120] -> `forecast` float32 [batch, 12]), but every row costs `--matmuls`
products of a [256, 256] matrix by a [256, 256] one (16.8 M multiply-adds each) on top of the model.
The chain depends on the input, so onnxruntime cannot fold it away; the matrix is orthogonal, so the
values stay bounded (no inf * 0 = NaN).

Usage (Debian's python3-onnx):
    /usr/bin/python3 training/nhits/make_slow_variant.py [--matmuls 48]
"""
import argparse
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
MODELS = os.path.join(ROOT, "models", "nhits-price")
WIDTH = 256


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="1", help="version whose graph is slowed down")
    ap.add_argument("--version", default="3-slow")
    ap.add_argument("--matmuls", type=int, default=48, help="[256,256] x [256,256] products per row")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()

    base_dir = os.path.join(MODELS, args.base)
    model = onnx.load(os.path.join(base_dir, "model.onnx"))
    graph = model.graph
    window = graph.input[0].name
    forecast = graph.output[0].name
    # The model's own forecast is renamed; the new output adds the chain's zero to it.
    for node in graph.node:
        node.output[:] = [f"{forecast}_model" if o == forecast else o for o in node.output]

    rng = np.random.default_rng(args.seed)
    features = graph.input[0].type.tensor_type.shape.dim[1].dim_value
    spread = (rng.standard_normal((features, WIDTH)) * 0.01).astype(np.float32)
    q, _ = np.linalg.qr(rng.standard_normal((WIDTH, WIDTH)))
    graph.initializer.extend(
        [
            numpy_helper.from_array(spread, "slow_spread"),
            numpy_helper.from_array(np.ones((1, WIDTH), np.float32), "slow_ones"),
            numpy_helper.from_array(q.astype(np.float32), "slow_q"),
            numpy_helper.from_array(np.array([2], np.int64), "slow_axis"),
            numpy_helper.from_array(np.array([-1, 1], np.int64), "slow_shape"),
            numpy_helper.from_array(np.array(0.0, np.float32), "slow_zero"),
        ]
    )
    nodes = [
        helper.make_node("MatMul", [window, "slow_spread"], ["slow_h"]),  # [b, 256]
        helper.make_node("Unsqueeze", ["slow_h", "slow_axis"], ["slow_col"]),  # [b, 256, 1]
        helper.make_node("MatMul", ["slow_col", "slow_ones"], ["slow_m0"]),  # [b, 256, 256]
    ]
    for i in range(args.matmuls):
        nodes.append(helper.make_node("MatMul", [f"slow_m{i}", "slow_q"], [f"slow_m{i + 1}"]))
    nodes += [
        helper.make_node("ReduceMean", [f"slow_m{args.matmuls}"], ["slow_mean"], axes=[1, 2], keepdims=1),
        helper.make_node("Reshape", ["slow_mean", "slow_shape"], ["slow_col_mean"]),  # [b, 1]
        helper.make_node("Mul", ["slow_col_mean", "slow_zero"], ["slow_nothing"]),
        helper.make_node("Add", [f"{forecast}_model", "slow_nothing"], [forecast]),
    ]
    graph.node.extend(nodes)
    graph.name = f"nhits-price {args.version} (deliberately slow)"
    onnx.checker.check_model(model)

    out_dir = os.path.join(MODELS, args.version)
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, "model.onnx")
    onnx.save(model, onnx_path)

    with open(os.path.join(base_dir, "model.json"), encoding="utf-8") as f:
        meta = json.load(f)
    meta.update(
        {
            "version": args.version,
            "description": "DELIBERATELY SLOW variant of nhits-price version "
            f"{args.base}: the same forecast, plus {args.matmuls} [{WIDTH},{WIDTH}] MatMuls per row whose "
            "result is multiplied by zero. For demonstrating a canary that fails its latency analysis; "
            "never deploy it for real.",
            "deliberatelyBad": {
                "what": "slow",
                "baseVersion": args.base,
                "extraMatMulsPerRow": args.matmuls,
                "extraMultiplyAddsPerRow": args.matmuls * WIDTH**3 + features * WIDTH + WIDTH * WIDTH,
                "script": "training/nhits/make_slow_variant.py",
            },
        }
    )
    meta["architecture"] = {**meta["architecture"], "slowChain": f"{args.matmuls} x MatMul [{WIDTH},{WIDTH}]"}
    # The forecast is the base version's, and so are its holdout figures (checked from JavaScript, see
    # models/README.md); the windows are the base version's holdout.json.
    meta["holdout"] = {**meta["holdout"], "file": f"../{args.base}/holdout.json"}
    with open(os.path.join(out_dir, "model.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"{onnx_path}: {os.path.getsize(onnx_path)} bytes, {args.matmuls} extra MatMuls per row")


if __name__ == "__main__":
    main()
