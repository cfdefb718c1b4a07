/*
 * NATS transport benchmark, run by `npm run bench` after the batching benchmark: batch-1 requests
 * for the shipped N-HiTS model through a worker thread (the in-process baseline) and through a
 * `gekko-worker` child process reached over NATS, in the same run, on the same host.
 */
import { ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import {
  ModelArtifactRef,
  WorkerConnection,
  WorkerLinkEvents,
} from '../protocol/types';
import { NatsControlPlane } from '../transport/nats/NatsControlPlane';
import { ThreadWorkerConnection } from '../transport/thread/ThreadWorkerConnection';
import { closedLoop, ClosedLoopResult } from './closedLoop';
import {
  Goal,
  SkippedFigure,
  skippedFigure,
  Verdict,
  verdict,
  writeBenchResults,
} from './results';

const SECONDS = Number(process.env.GEKKO_BENCH_SECONDS ?? 3);
/** Rounds of each measurement: figures are the median of this many, with min and max. */
const ROUNDS = 3;
const NATS_URL = process.env.GEKKO_BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
const modelsDir = path.resolve(process.env.GEKKO_MODELS_DIR ?? '../../models');
const WINDOW = 120;
const workerBin = path.join(
  path.dirname(require.resolve('@gekko/worker/package.json')),
  'bin',
  'gekko-worker',
);

const FIGURE = 'NATS transport, added p99 (1 / 16 callers)';
/** The p99 NATS adds over the in-process worker thread, at the worse of 1 and 16 callers. */
const GOAL: Goal = { op: '<=', value: 3, unit: 'ms' };

/** Why NATS cannot be used, or undefined when it answers. */
async function natsUnavailable(): Promise<string | undefined> {
  try {
    const nc = await connect({
      servers: NATS_URL,
      timeout: 2000,
      reconnect: false,
    });
    await nc.close();
    return undefined;
  } catch (error) {
    return `nothing answers at ${NATS_URL} (${
      error instanceof Error ? error.message : error
    }); set GEKKO_BENCH_NATS_URL`;
  }
}

async function waitFor<T>(
  get: () => T | undefined,
  what: string,
  ms: number,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 20));
  }
}

/** Runs the NATS benchmark and writes `nats-latest.json`; records `skipped` when NATS is not there. */
export async function runNatsBench(): Promise<void> {
  const results: Record<string, unknown> & {
    time: string;
    verdicts: Array<Verdict | SkippedFigure>;
  } = {
    benchmark: 'worker-nats',
    time: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    model: 'nhits-price v1 (window 120, horizon 12), batch-1 requests',
    secondsPerMeasurement: SECONDS,
    natsUrl: NATS_URL,
    verdicts: [],
  };
  const unavailable = await natsUnavailable();
  if (unavailable) {
    process.stdout.write(`NATS benchmark skipped: ${unavailable}\n`);
    results.verdicts.push(skippedFigure(FIGURE, GOAL, unavailable));
    writeBenchResults('nats', { ...results, skipped: unavailable });
    return;
  }

  const file = path.join(modelsDir, 'nhits-price', '1', 'model.onnx');
  const bytes = fs.readFileSync(file);
  const ref: ModelArtifactRef = {
    name: 'nhits-price',
    version: '1',
    relativePath: 'nhits-price/1/model.onnx',
    absolutePath: file,
    sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
    sizeBytes: bytes.length,
    batching: { maxBatchSize: 64, maxQueueDelayMs: 0 },
  };
  const prefix = `gekkobench${crypto.randomBytes(4).toString('hex')}`;
  const workerId = `bench-${process.pid}`;
  const connections = new Map<string, WorkerConnection>();
  const events: WorkerLinkEvents = {
    heartbeat: (connection, message) =>
      connections.set(message.worker.id, connection),
    gone: () => {},
  };

  const plane = await NatsControlPlane.connect({
    servers: NATS_URL,
    subjectPrefix: prefix,
    events,
  });
  const thread = ThreadWorkerConnection.start({
    pool: 'bench',
    id: `bench-thread-${process.pid}`,
    events,
    intraOpThreads: 1,
  });
  // A separate process, as a remote worker is: the NATS figure includes both hops through the server.
  let workerLog = '';
  const child: ChildProcess = spawn(
    process.execPath,
    [
      workerBin,
      '--nats',
      NATS_URL,
      '--pool',
      'bench',
      '--id',
      workerId,
      '--models-dir',
      modelsDir,
      '--subject-prefix',
      prefix,
      '--threads',
      '1',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr!.on('data', chunk => (workerLog += chunk));

  try {
    const remote = await waitFor(
      () => connections.get(workerId),
      `the gekko-worker child process to join (its log: ${workerLog})`,
      60_000,
    );
    await thread.command({ op: 'load', model: ref }, 30_000);
    await remote.command({ op: 'load', model: ref }, 30_000);

    const input = new Float32Array(WINDOW);
    for (let i = 0; i < WINDOW; i++) input[i] = 100 + Math.sin(i / 7);
    const request = { name: 'nhits-price', version: '1', rows: 1, input };
    const call = (connection: WorkerConnection) => () =>
      connection.infer(request, 5_000);

    // Warm both paths (JIT, sockets, onnxruntime's first runs) before measuring.
    await closedLoop(4, 0.5, call(thread));
    await closedLoop(4, 0.5, call(remote));

    // ROUNDS rounds, thread and NATS alternating at each caller count, so a drift in the machine's
    // load weighs on both; the added p99 is taken within a round and its median judged.
    const rounds: Array<Record<string, Record<string, ClosedLoopResult>>> = [];
    for (let round = 0; round < ROUNDS; round++) {
      const measured: Record<string, Record<string, ClosedLoopResult>> = {};
      for (const concurrency of [1, 16]) {
        measured[`concurrency${concurrency}`] = {
          inProcessThread: await closedLoop(concurrency, SECONDS, call(thread)),
          nats: await closedLoop(concurrency, SECONDS, call(remote)),
        };
      }
      rounds.push(measured);
    }
    const spread = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return {
        median: +sorted[Math.floor(sorted.length / 2)].toFixed(3),
        min: +sorted[0].toFixed(3),
        max: +sorted[sorted.length - 1].toFixed(3),
      };
    };
    const added = (key: string) =>
      spread(rounds.map(r => r[key].nats.p99Ms - r[key].inProcessThread.p99Ms));
    const p99 = (key: string, side: string) =>
      spread(rounds.map(r => r[key][side].p99Ms));
    const addedP99Ms = {
      concurrency1: added('concurrency1'),
      concurrency16: added('concurrency16'),
    };
    const shown = (s: { median: number; min: number; max: number }) =>
      `${s.median} (${s.min}–${s.max})`;
    const judged = verdict({
      figure: FIGURE,
      value: Math.max(
        addedP99Ms.concurrency1.median,
        addedP99Ms.concurrency16.median,
      ),
      unit: 'ms',
      measures: {
        'added p99, 1 caller': {
          value: addedP99Ms.concurrency1.median,
          unit: 'ms',
        },
        'added p99, 16 callers': {
          value: addedP99Ms.concurrency16.median,
          unit: 'ms',
        },
      },
      goal: GOAL,
      shown: {
        value: `${shown(addedP99Ms.concurrency1)} / ${shown(
          addedP99Ms.concurrency16,
        )} ms, median of ${ROUNDS} rounds (min–max)`,
        baseline: `in-process thread p99 ${
          p99('concurrency1', 'inProcessThread').median
        } / ${p99('concurrency16', 'inProcessThread').median} ms`,
      },
    });
    results.verdicts.push(judged);
    Object.assign(results, {
      rounds,
      addedP99Ms,
      goal: `NATS adds ${judged.goalText} p99 over the in-process worker thread`,
      goalMet: judged.goalMet,
      note: 'Both workers use one onnxruntime intra-op thread; the NATS worker is a gekko-worker child process on this host, so the figure is the transport cost (two hops through the server, serialization) without network distance.',
    });
  } finally {
    await thread.close();
    child.kill('SIGTERM');
    await new Promise(resolve => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(null);
      else child.once('exit', resolve);
    });
    await plane.close();
  }
  writeBenchResults('nats', results);
}
