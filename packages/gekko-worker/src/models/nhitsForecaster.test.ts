/*
 * The proof for the shipped forecaster (models/nhits-price/1): run the committed ONNX file with
 * onnxruntime-node on the committed holdout windows and check that it beats the seasonal-naive forecast's
 * MAE. The baselines are recomputed here from the raw holdout values, not read from model.json; the
 * figures the training script measured are only compared against, so a garbage or stale model fails.
 */
import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildHoldout,
  maeOf,
  naiveForecast,
  seasonalNaiveForecast,
} from './holdout';

const modelDir = path.resolve(__dirname, '../../../../models/nhits-price/1');

interface ModelMeta {
  name: string;
  version: number;
  inputs: { name: string; shape: number[]; dtype: string }[];
  outputs: { name: string; shape: number[]; dtype: string }[];
  window: number;
  horizon: number;
  season: number;
  holdout: {
    file?: string;
    maeModel: number;
    maeSeasonalNaive: number;
    maeNaive: number;
    windows: number;
  };
}

const meta: ModelMeta = JSON.parse(
  readFileSync(path.join(modelDir, 'model.json'), 'utf8'),
);
const holdout = buildHoldout(
  JSON.parse(
    readFileSync(
      path.join(modelDir, meta.holdout.file ?? 'holdout.json'),
      'utf8',
    ),
  ),
);

async function forecast(
  session: ort.InferenceSession,
  windows: Float32Array[],
): Promise<Float32Array[]> {
  const L = meta.window;
  const H = meta.horizon;
  const flat = new Float32Array(windows.length * L);
  windows.forEach((w, i) => flat.set(w, i * L));
  const out = await session.run({
    window: new ort.Tensor('float32', flat, [windows.length, L]),
  });
  const data = out.forecast.data as Float32Array;
  expect(out.forecast.dims).toEqual([windows.length, H]);
  return windows.map((_, i) => data.subarray(i * H, (i + 1) * H));
}

describe('nhits-price v1 (models/nhits-price/1/model.onnx)', () => {
  let session: ort.InferenceSession;

  beforeAll(async () => {
    session = await ort.InferenceSession.create(
      path.join(modelDir, 'model.onnx'),
      {
        executionProviders: ['cpu'],
      },
    );
  });

  afterAll(async () => {
    await session?.release();
  });

  it('has the declared input and output names', () => {
    expect(session.inputNames).toEqual([meta.inputs[0].name]);
    expect(session.outputNames).toEqual([meta.outputs[0].name]);
    expect(meta.inputs[0].shape).toEqual([-1, meta.window]);
    expect(meta.outputs[0].shape).toEqual([-1, meta.horizon]);
    expect(holdout.windows.length).toBe(meta.holdout.windows);
  });

  it('beats the seasonal-naive (and the naive) forecast on the holdout', async () => {
    const { windows, targets } = holdout;
    const predicted = await forecast(session, windows);
    const maeModel = maeOf(predicted, targets);
    const maeSeasonalNaive = maeOf(
      windows.map(w => seasonalNaiveForecast(w, meta.season, meta.horizon)),
      targets,
    );
    const maeNaive = maeOf(
      windows.map(w => naiveForecast(w, meta.horizon)),
      targets,
    );
    // eslint-disable-next-line no-console
    console.log(
      `nhits-price v1 holdout (${windows.length} windows, L=${meta.window}, H=${meta.horizon}, ` +
        `season=${meta.season}): MAE model ${maeModel.toFixed(5)}, ` +
        `seasonal-naive ${maeSeasonalNaive.toFixed(
          5,
        )}, naive ${maeNaive.toFixed(5)}`,
    );

    expect(maeModel).toBeLessThan(maeSeasonalNaive);
    // Seasonal naive is a weak bar on a random-walk-like price (an untrained network with this
    // architecture's last-value normalization already clears it: MAE 0.202), so also require the
    // stronger one: beat the last-value forecast, which an untrained network does not.
    expect(maeModel).toBeLessThan(maeNaive);
    // The ONNX file in the repo is the one the training script measured: same figures to float32 noise.
    expect(maeModel).toBeCloseTo(meta.holdout.maeModel, 3);
    expect(maeSeasonalNaive).toBeCloseTo(meta.holdout.maeSeasonalNaive, 4);
    expect(maeNaive).toBeCloseTo(meta.holdout.maeNaive, 4);
  });

  it('gives the same forecast for a window alone and inside a batch', async () => {
    const batch = holdout.windows.slice(0, 8);
    const together = await forecast(session, batch);
    const alone = await forecast(session, [batch[5]]);
    // Same numbers up to float32 rounding (the GEMM kernel may block a batch differently).
    alone[0].forEach((v, j) =>
      expect(Math.abs(v - together[5][j])).toBeLessThan(1e-3),
    );
  });

  it('ranks a biased forecaster below seasonal naive (the metric separates forecasters)', () => {
    const { windows, targets } = holdout;
    // The last value biased by +0.5 %: worse than seasonal naive. (By hand, an untrained network with
    // this architecture scored 0.202 here and failed the naive and model.json assertions above.)
    const garbage = windows.map(w =>
      naiveForecast(w, meta.horizon).map(v => v * 1.005),
    );
    const maeSeasonalNaive = maeOf(
      windows.map(w => seasonalNaiveForecast(w, meta.season, meta.horizon)),
      targets,
    );
    expect(maeOf(garbage, targets)).toBeGreaterThan(maeSeasonalNaive);
  });
});
