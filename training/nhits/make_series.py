#!/usr/bin/env python3
"""Generate the synthetic 1-minute price series the N-HiTS forecaster is trained on.

The series is SYNTHETIC (no market data is involved). Log price is the sum of:

* a regime-switching random walk (geometric Brownian motion in price terms): a two-state Markov chain
  switches between a calm regime (0.04 %/min volatility) and a volatile regime (0.12 %/min) with a small
  drift of either sign; regimes last a few hours on average;
* an intraday volatility profile with a 1440-minute (daily) period: volatility is about 1.6x higher around
  the "open" and the "close" than at night;
* a 60-minute seasonal level pattern (two harmonics, about 0.25 % peak to peak) - think of an hourly
  auction / funding cycle. 60 minutes is the season the seasonal-naive baseline uses;
* mean-reverting microstructure noise: an AR(1) / Ornstein-Uhlenbeck term (phi = 0.85, 0.05 %/min).

Reproducible: a fixed seed, numpy only. Usage:

    /usr/bin/python3 training/nhits/make_series.py            # writes training/data/synthetic-minute-bars.csv
"""
import argparse
import datetime as dt
import os

import numpy as np

SEASON = 60  # minutes; the seasonal-naive baseline's season
DAY = 1440


def generate(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)

    # Two-state Markov regime: 0 calm, 1 volatile. Mean sojourn: calm 6 h, volatile 2 h.
    p_leave = np.array([1 / 360, 1 / 120])
    regime = np.empty(n, dtype=np.int64)
    state = 0
    drift_sign = 1.0
    drift = np.empty(n)
    u = rng.random(n)
    for i in range(n):
        if u[i] < p_leave[state]:
            state = 1 - state
            drift_sign = rng.choice([-1.0, 1.0])
        regime[i] = state
        drift[i] = drift_sign * (0.5e-5 if state == 0 else 2.0e-5)
    vol = np.where(regime == 0, 4e-4, 12e-4)

    # Intraday volatility profile (U shape over the day: open at minute 570, close at 960).
    minute_of_day = t % DAY
    bump = lambda c, w: np.exp(-0.5 * ((minute_of_day - c) / w) ** 2)  # noqa: E731
    vol_profile = 0.8 + 0.8 * bump(570, 60) + 0.6 * bump(960, 60)
    steps = drift + vol * vol_profile * rng.standard_normal(n)
    random_walk = np.cumsum(steps)

    # 60-minute seasonal level pattern (two harmonics, ~0.25 % peak to peak).
    phase = 2 * np.pi * (t % SEASON) / SEASON
    seasonal = 1.0e-3 * np.sin(phase) + 0.5e-3 * np.cos(2 * phase + 0.7)

    # Mean-reverting microstructure noise, AR(1).
    phi, sigma = 0.85, 5e-4
    eps = sigma * rng.standard_normal(n)
    noise = np.empty(n)
    acc = 0.0
    for i in range(n):
        acc = phi * acc + eps[i]
        noise[i] = acc

    log_price = np.log(100.0) + random_walk + seasonal + noise
    return np.exp(log_price)


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=20221)
    parser.add_argument(
        "--out", default=os.path.join(here, "..", "data", "synthetic-minute-bars.csv")
    )
    args = parser.parse_args()

    prices = generate(args.n, args.seed)
    start = dt.datetime(2026, 1, 5, 0, 0, tzinfo=dt.timezone.utc)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("timestamp,close\n")
        for i, p in enumerate(prices):
            ts = (start + dt.timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%MZ")
            f.write(f"{ts},{p:.4f}\n")
    print(
        f"wrote {len(prices)} bars to {os.path.normpath(args.out)}: "
        f"min {prices.min():.2f} max {prices.max():.2f} last {prices[-1]:.2f}"
    )


if __name__ == "__main__":
    main()
