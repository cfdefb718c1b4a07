#!/usr/bin/env python3
"""Train a small N-HiTS-style forecaster on the committed price series and export it to ONNX.

N-HiTS: Challu, Olivares, Oreshkin, Garza, Mergenthaler-Canseco, Dubrawski, "N-HiTS: Neural Hierarchical
Interpolation for Time Series Forecasting", AAAI 2023 (arXiv:2201.12886, 2022).

What is implemented (a faithful small version of the paper's architecture):
* stacks of MLP blocks; each stack max-pools its input with its own kernel (multi-rate input sampling);
* each block's MLP outputs backcast coefficients (full input length) and a coarse set of forecast knots;
* hierarchical interpolation: the knots are linearly interpolated up to the horizon H. The interpolation is
  a fixed [knots, H] matrix (the same numbers as torch's linear interpolate with align_corners=True), so
  the ONNX graph is a plain MatMul;
* doubly residual stacking: each block subtracts its backcast from the running residual and adds its
  forecast to the running sum.
Normalization is inside the model: the raw window is divided by its last price and turned into percent
returns; the forecast is mapped back to prices. The ONNX file takes raw prices [batch, L] ("window") and
returns raw price forecasts [batch, H] ("forecast").

Splits (by time, no shuffling across them): windows whose targets fall in the first 70 % of the series
train, the next 10 % validate (early stopping), the last 20 % is the holdout. Seeded; CPU; ~1-2 minutes.

Usage (Debian's python3-torch; the pyenv python3 on PATH may not have torch):
    /usr/bin/python3 training/nhits/train.py                         # version 1, seed 7
    /usr/bin/python3 training/nhits/train.py --version 2 --seed 11   # writes models/nhits-price/2
"""
import argparse
import json
import os
import time

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(ROOT, "training", "data", "synthetic-minute-bars.csv")
MODELS = os.path.join(ROOT, "models", "nhits-price")

L = 120  # input window, minutes
H = 12  # horizon, minutes
SEASON = 60  # the series' seasonal period (see make_series.py)
SCALE = 100.0  # returns in percent inside the model


def interpolation_matrix(knots: int, horizon: int) -> torch.Tensor:
    """[knots, horizon] matrix M such that coeffs @ M is the linear interpolation (align_corners=True)."""
    m = torch.zeros(knots, horizon)
    if knots == 1:
        m[0, :] = 1.0
        return m
    pos = torch.linspace(0, knots - 1, horizon)
    lo = pos.floor().long().clamp(max=knots - 2)
    frac = pos - lo.float()
    for j in range(horizon):
        m[lo[j], j] += 1.0 - frac[j]
        m[lo[j] + 1, j] += frac[j]
    return m


class Block(nn.Module):
    def __init__(self, pool_kernel: int, knots: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        self.pool = nn.MaxPool1d(kernel_size=pool_kernel, stride=pool_kernel, ceil_mode=True)
        pooled = -(-L // pool_kernel)
        mlp = []
        width = pooled
        for _ in range(layers):
            mlp += [nn.Linear(width, hidden), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
            width = hidden
        self.mlp = nn.Sequential(*mlp)
        self.backcast = nn.Linear(hidden, L)
        self.knots = nn.Linear(hidden, knots)
        self.register_buffer("interp", interpolation_matrix(knots, H))

    def forward(self, x: torch.Tensor):
        h = self.pool(x.unsqueeze(1)).squeeze(1)
        h = self.mlp(h)
        return self.backcast(h), self.knots(h) @ self.interp


class NHiTS(nn.Module):
    def __init__(self, pool_kernels, knots, blocks_per_stack=1, hidden=128, layers=2, dropout=0.0):
        super().__init__()
        self.config = dict(
            poolKernels=list(pool_kernels),
            forecastKnots=list(knots),
            blocksPerStack=blocks_per_stack,
            hidden=hidden,
            mlpLayers=layers,
        )
        self.blocks = nn.ModuleList(
            Block(k, n, hidden, layers, dropout)
            for k, n in zip(pool_kernels, knots)
            for _ in range(blocks_per_stack)
        )

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        last = window[:, -1:]
        residual = (window / last - 1.0) * SCALE
        forecast = torch.zeros(window.shape[0], H, dtype=window.dtype)
        for block in self.blocks:
            backcast, f = block(residual)
            residual = residual - backcast
            forecast = forecast + f
        return last * (1.0 + forecast / SCALE)


def load_series(path: str) -> np.ndarray:
    with open(path, encoding="utf-8") as f:
        next(f)
        return np.array([float(line.split(",")[1]) for line in f], dtype=np.float64)


def windows(series: np.ndarray, starts: np.ndarray):
    idx = starts[:, None] + np.arange(L + H)[None, :]
    w = series[idx]
    return w[:, :L].astype(np.float32), w[:, L:].astype(np.float32)


def baselines(x: np.ndarray, y: np.ndarray):
    naive = np.repeat(x[:, -1:], H, axis=1)
    # seasonal naive: the value one season before each target time; target t+h -> x index L-1+h-SEASON
    seasonal = x[:, L - SEASON : L - SEASON + H]
    return np.abs(naive - y).mean(), np.abs(seasonal - y).mean()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--version", default="1", help="model version; output goes to models/nhits-price/<version>")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--holdout-windows", type=int, default=480)
    ap.add_argument("--out", default=None, help="output folder (default models/nhits-price/<version>)")
    ap.add_argument("--threads", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)

    series = load_series(DATA)
    n = len(series)
    train_end, val_end = int(0.7 * n), int(0.8 * n)
    # A window's last target index is start+L+H-1; keep every window's targets inside its split.
    tr_starts = np.arange(0, train_end - (L + H) + 1)
    va_starts = np.arange(train_end, val_end - (L + H) + 1)
    ho_first = val_end  # the holdout windows (inputs and targets) lie entirely in the last 20 %
    ho_all = np.arange(ho_first, n - (L + H) + 1)
    stride = max(1, len(ho_all) // args.holdout_windows)
    ho_starts = ho_all[::stride][: args.holdout_windows]

    xtr, ytr = windows(series, tr_starts)
    xva, yva = windows(series, va_starts)
    xho, yho = windows(series, ho_starts)
    xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr)
    xva_t, yva_t = torch.from_numpy(xva), torch.from_numpy(yva)

    model = NHiTS(
        pool_kernels=(8, 4, 1), knots=(2, 4, 12), hidden=args.hidden, dropout=args.dropout
    )
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, args.epochs // 3), gamma=0.3)
    batch = 256
    best, best_state, t0 = float("inf"), None, time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr_t))
        for i in range(0, len(perm), batch):
            b = perm[i : i + batch]
            pred = model(xtr_t[b])
            loss = (pred - ytr_t[b]).abs().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        model.eval()
        with torch.no_grad():
            val = (model(xva_t) - yva_t).abs().mean().item()
        if val < best:
            best, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
        print(f"epoch {epoch + 1:3d}  train {loss.item():.5f}  val MAE {val:.5f}  best {best:.5f}")
    train_seconds = time.time() - t0
    model.load_state_dict(best_state)
    model.eval()

    va_naive, va_seasonal = baselines(xva, yva)
    with torch.no_grad():
        pho = model(torch.from_numpy(xho)).numpy()
    mae_model = float(np.abs(pho - yho).mean())
    mae_naive, mae_seasonal = (float(v) for v in baselines(xho, yho))
    print(f"validation: model {best:.5f}  naive {va_naive:.5f}  seasonal-naive {va_seasonal:.5f}")
    print(
        f"holdout ({len(ho_starts)} windows): model {mae_model:.5f}  naive {mae_naive:.5f}  "
        f"seasonal-naive {mae_seasonal:.5f}"
    )

    out_dir = args.out or os.path.join(MODELS, args.version)
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, "model.onnx")
    torch.onnx.export(
        model,
        torch.from_numpy(xho[:2]),
        onnx_path,
        input_names=["window"],
        output_names=["forecast"],
        dynamic_axes={"window": {0: "batch"}, "forecast": {0: "batch"}},
        opset_version=13,
        do_constant_folding=True,
    )
    try:
        import onnx

        onnx.checker.check_model(onnx.load(onnx_path))
        print("onnx.checker: ok")
    except ImportError:
        print("python3-onnx not installed: skipped onnx.checker")

    # The holdout as the JS test needs it: the raw segment of the series (the same decimal strings as the
    # CSV) and the window starts relative to it.
    seg_from = int(ho_starts[0])
    seg_to = int(ho_starts[-1]) + L + H
    with open(DATA, encoding="utf-8") as f:
        raw = [line.rstrip("\n").split(",")[1] for line in list(f)[1:]]
    holdout = {
        "source": "training/data/synthetic-minute-bars.csv",
        "segmentStartIndex": seg_from,
        "window": L,
        "horizon": H,
        "season": SEASON,
        "stride": int(stride),
        "count": int(len(ho_starts)),
        "note": "window k has inputs values[k*stride : k*stride+window] and targets the next horizon values",
        "values": [float(v) for v in raw[seg_from:seg_to]],
    }
    with open(os.path.join(out_dir, "holdout.json"), "w", encoding="utf-8") as f:
        json.dump(holdout, f, separators=(",", ":"))

    meta = {
        "name": "nhits-price",
        "version": int(args.version) if args.version.isdigit() else args.version,
        "artifact": "model.onnx",
        "description": "N-HiTS-style price forecaster (Challu et al. 2022): 1-minute closes -> next "
        f"{H} minutes. Trained on a SYNTHETIC series.",
        "inputs": [{"name": "window", "shape": [-1, L], "dtype": "float32"}],
        "outputs": [{"name": "forecast", "shape": [-1, H], "dtype": "float32"}],
        "window": L,
        "horizon": H,
        "season": SEASON,
        "opset": 13,
        "architecture": {**model.config, "parameters": n_params, "normalization": "x / last - 1 (percent)"},
        "trainedOn": {
            "data": "training/data/synthetic-minute-bars.csv",
            "synthetic": True,
            "generator": "training/nhits/make_series.py (seed 20221)",
            "bars": int(n),
            "split": {"train": [0, train_end], "validation": [train_end, val_end], "holdout": [val_end, n]},
            "script": "training/nhits/train.py",
            "seed": args.seed,
            "epochs": args.epochs,
            "trainSeconds": round(train_seconds, 1),
            "torch": torch.__version__,
        },
        "holdout": {
            "file": "holdout.json",
            "windows": int(len(ho_starts)),
            "maeModel": round(mae_model, 6),
            "maeSeasonalNaive": round(mae_seasonal, 6),
            "maeNaive": round(mae_naive, 6),
        },
    }
    with open(os.path.join(out_dir, "model.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"params {n_params}, onnx {os.path.getsize(onnx_path)} bytes, trained in {train_seconds:.1f}s")


if __name__ == "__main__":
    main()
