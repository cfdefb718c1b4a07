/*
 * Worker benchmark, run by `npm run bench`: the shipped N-HiTS model on this host's provider, every
 * figure a ratio against raw onnxruntime measured in the same run.
 */
import * as ort from 'onnxruntime-node';
import os from 'node:os';
import path from 'node:path';
import { ModelHost } from '../runtime/ModelHost';
import { closedLoop as runClosedLoop } from './closedLoop';
import { Verdict, verdict, writeBenchResults } from './results';

const SECONDS = Number(process.env.GEKKO_BENCH_SECONDS ?? 3);
const modelsDir = path.resolve(process.env.GEKKO_MODELS_DIR ?? '../../models');
const modelPath = path.join(modelsDir, 'nhits-price', '1', 'model.onnx');
const WINDOW = 120;

function windows(rows: number): Float32Array {
  const data = new Float32Array(rows * WINDOW);
  for (let i = 0; i < data.length; i++) data[i] = 100 + Math.sin(i / 7);
  return data;
}

async function forSeconds(fn: () => Promise<number>) {
  const end = performance.now() + SECONDS * 1000;
  const start = performance.now();
  let units = 0;
  while (performance.now() < end) units += await fn();
  return units / ((performance.now() - start) / 1000);
}

/** Batch-1 requests from `concurrency` callers for SECONDS; requests/s and p99 ms. */
async function closedLoop(concurrency: number, call: () => Promise<unknown>) {
  const { requestsPerSecond, p99Ms } = await runClosedLoop(
    concurrency,
    SECONDS,
    call,
  );
  return { requestsPerSecond, p99Ms };
}

/** Runs the model host and batching benchmark and writes `worker-latest.json`. */
export async function runBatchingBench(): Promise<void> {
  const results: Record<string, unknown> & {
    time: string;
    verdicts: Verdict[];
  } = {
    benchmark: 'worker',
    time: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    model: 'nhits-price v1 (window 120, horizon 12)',
    secondsPerMeasurement: SECONDS,
    verdicts: [],
  };

  const raw = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
  });
  const batch64 = windows(64);
  const rawRowsPerSecond = await forSeconds(async () => {
    await raw.run({ window: new ort.Tensor('float32', batch64, [64, WINDOW]) });
    return 64;
  });

  const host = new ModelHost({
    defaultBatching: { maxBatchSize: 64, maxQueueDelayMs: 1 },
  });
  const loaded = await host.load({
    name: 'nhits-price',
    version: '1',
    source: { path: modelPath },
  });
  results.provider = loaded.provider;
  const hostRowsPerSecond = await forSeconds(async () => {
    await host.run('nhits-price', '1', batch64, 64);
    return 64;
  });
  results.batch64 = {
    rawOnnxruntimeRowsPerSecond: Math.round(rawRowsPerSecond),
    modelHostRowsPerSecond: Math.round(hostRowsPerSecond),
    ratioVsRaw: +(hostRowsPerSecond / rawRowsPerSecond).toFixed(3),
    note: 'library call in one process; the worker-thread gateway figure comes with the gateway',
  };

  const one = windows(1);
  const unbatched = await closedLoop(64, () =>
    host.run('nhits-price', '1', one, 1),
  );
  const batched = await closedLoop(64, () =>
    host.infer('nhits-price', '1', one, 1),
  );
  const batching = verdict({
    figure: 'dynamic batching, batch 1 x 64 callers',
    value: batched.requestsPerSecond,
    unit: 'req/s',
    baseline: {
      name: 'batching off',
      value: unbatched.requestsPerSecond,
      unit: 'req/s',
    },
    ratio: +(batched.requestsPerSecond / unbatched.requestsPerSecond).toFixed(
      2,
    ),
    goal: { of: 'ratio', op: '>=', value: 3, unit: 'x' },
  });
  results.verdicts.push(batching);
  results.batch1Concurrency64 = {
    batchingOff: unbatched,
    batchingOn: batched,
    throughputRatio: batching.ratio,
    goal: `batching on ${batching.goalText} batching off`,
    met: batching.goalMet,
  };
  await host.close();

  writeBenchResults('worker', results);
}
