/*
 * Helpers for the nhits-price holdout check (test-only): rebuild the holdout windows from
 * models/nhits-price/1/holdout.json and compute the baseline forecasts and MAE.
 */

export interface HoldoutFile {
  window: number;
  horizon: number;
  season: number;
  stride: number;
  count: number;
  values: number[];
}

export interface Holdout {
  windows: Float32Array[];
  targets: Float32Array[];
}

/** Window k: inputs values[k*stride, k*stride+window), targets the next `horizon` values. */
export function buildHoldout(file: HoldoutFile): Holdout {
  const windows: Float32Array[] = [];
  const targets: Float32Array[] = [];
  for (let k = 0; k < file.count; k++) {
    const start = k * file.stride;
    const end = start + file.window;
    if (end + file.horizon > file.values.length) {
      throw new Error(
        `holdout.json: window ${k} runs past the ${file.values.length} values`,
      );
    }
    windows.push(Float32Array.from(file.values.slice(start, end)));
    targets.push(Float32Array.from(file.values.slice(end, end + file.horizon)));
  }
  return { windows, targets };
}

/** Last value repeated over the horizon. */
export function naiveForecast(
  window: Float32Array,
  horizon: number,
): Float32Array {
  return new Float32Array(horizon).fill(window[window.length - 1]);
}

/** Target at t+h is forecast as the value one season earlier, t+h-season (inside the window). */
export function seasonalNaiveForecast(
  window: Float32Array,
  season: number,
  horizon: number,
): Float32Array {
  if (season < horizon || season > window.length) {
    throw new Error(
      `season ${season} must lie in [horizon ${horizon}, window ${window.length}]`,
    );
  }
  const from = window.length - season;
  return window.slice(from, from + horizon);
}

export function maeOf(
  predicted: ArrayLike<number>[],
  actual: ArrayLike<number>[],
): number {
  let sum = 0;
  let n = 0;
  predicted.forEach((p, i) => {
    const a = actual[i];
    if (p.length !== a.length)
      throw new Error(
        `row ${i}: ${p.length} predictions for ${a.length} targets`,
      );
    for (let j = 0; j < a.length; j++) {
      sum += Math.abs(p[j] - a[j]);
      n++;
    }
  });
  return sum / n;
}
