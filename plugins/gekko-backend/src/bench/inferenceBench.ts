/*
 * Inference benchmark, run by `npm run bench`. Every figure comes with a baseline measured in the same
 * run, because these machines are noisy:
 *   1. GPU allocation among 1,000 registered workers, against a naive scan of all of them;
 *   2. the gateway library (GPU manager + worker threads) at batch 64, against raw onnxruntime-node in
 *      one process;
 * Parts 2 and 3 run every load ROUNDS times, alternating with their baselines; each figure is the
 * median of its rounds, shown with min and max, and judged on the median.
 *   3. the HTTP predict route of a real Backstage backend at batch 1: the data plane against the limit
 *      baseline (the same model through a raw onnxruntime session behind a bare node:http server, no
 *      auth, no batching, no threads) at the same client count, the portal route against the same
 *      backend's cheapest route, all driven by the same load generator in another process;
 *   4. the data plane's per-caller rate limiter: the same load from a caller the limit applies to,
 *      against a caller exempt from it, on the same data plane, in alternating rounds.
 */
// The benchmark starts a real backend; backend-defaults is a dev dependency, as the bench is dev tooling.
// eslint-disable-next-line @backstage/no-undeclared-imports
import { createBackend } from '@backstage/backend-defaults';
import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { HeartbeatMessage, WorkerConnection } from '@gekko/worker';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import v8 from 'node:v8';
import * as ort from 'onnxruntime-node';
import { AuditedChanges } from '../audit/AuditedChanges';
import { AuditTrail } from '../audit/AuditTrail';
import {
  defaultEmbeddedMode,
  defaultIntraOpThreads,
  EmbeddedWorkerMode,
  EmbeddedWorkers,
} from '../gpu/EmbeddedWorkers';
import { GpuManager, ManagedWorker } from '../gpu/GpuManager';
import { InferenceGateway } from '../inference/InferenceGateway';
import { ModelArtifacts } from '../inference/ModelArtifacts';
import { ModelPlacement } from '../inference/ModelPlacement';
import { ModelRegistry } from '../inference/ModelRegistry';
import { ModelStore } from '../inference/ModelStore';
import { CallerRateLimits } from '../service/CallerRateLimits';
import { benchLogger } from './benchLogger';
import { profileAllocations, profileWhile } from './cpuProfile';
import { openBenchDatabase } from './openBenchDatabase';
import {
  formatNumber,
  Goal,
  Verdict,
  verdict,
  writeBenchResults,
} from './results';

const SECONDS = Number(process.env.GEKKO_BENCH_SECONDS ?? 5);
// Embedded workers behind the HTTP benchmark (the portal's default is 2), where they run (auto, as
// the portal's default, or threads or in-process) and their intra-op threads (unset: the default).
const HTTP_WORKERS = Number(process.env.GEKKO_BENCH_HTTP_WORKERS ?? 2);
const EMBEDDED_MODE = process.env.GEKKO_BENCH_EMBEDDED_MODE ?? 'auto';
const INTRA_OP_THREADS = process.env.GEKKO_BENCH_INTRA_OP_THREADS
  ? Number(process.env.GEKKO_BENCH_INTRA_OP_THREADS)
  : undefined;
const embeddedMode = (): EmbeddedWorkerMode =>
  EMBEDDED_MODE === 'auto'
    ? defaultEmbeddedMode()
    : (EMBEDDED_MODE as EmbeddedWorkerMode);
const packageDir = resolvePackagePath('@gekko/plugin-gekko-backend');
const modelsDir = path.resolve(packageDir, '../../models');
const nhits = {
  name: 'nhits-price',
  version: '1',
  artifact: 'nhits-price/1/model.onnx',
  pools: ['cpu-dr'],
  maxBatchSize: 64,
  maxQueueDelayMs: 0,
};

const logger = benchLogger;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return Number.isInteger(mid)
    ? (sorted[mid - 1] + sorted[mid]) / 2
    : sorted[Math.floor(mid)];
}

function percentile(sorted: number[], p: number): number {
  return sorted[
    Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)
  ];
}

function windows(rows: number): Float32Array {
  const input = new Float32Array(rows * 120);
  for (let i = 0; i < input.length; i++) {
    input[i] = 100 + Math.sin(i / 11) + (i % 120) * 0.01;
  }
  return input;
}

/** Runs `fn` from `concurrency` loops for `seconds`; returns calls per second. */
async function closedLoop(
  concurrency: number,
  seconds: number,
  fn: () => Promise<unknown>,
): Promise<{ calls: number; perSecond: number }> {
  const end = performance.now() + seconds * 1000;
  let calls = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await fn();
        calls += 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { calls, perSecond: calls / elapsed };
}

function allocationBench() {
  const manager = new GpuManager({ logger });
  const fake = (id: string, pool: string): WorkerConnection => ({
    identity: { id, pool, transport: 'nats', host: id, pid: 1, startedAt: '' },
    command: async () => ({}),
    infer: async () => {
      throw new Error('unused');
    },
    close: async () => {},
  });
  const all: ManagedWorker[] = [];
  for (let i = 0; i < 1000; i++) {
    const connection = fake(`w${i}`, `pool-${i % 10}`);
    const message: HeartbeatMessage = {
      worker: connection.identity,
      seq: 1,
      heartbeat: {
        timestamp: '',
        acceleratorKind: 'cuda',
        devices: [],
        loadedModels: [
          { name: `model-${i % 20}`, version: '1', provider: 'cuda' },
          { name: 'shared', version: '1', provider: 'cuda' },
        ],
        queueDepth: 0,
        requestsPerSecond: 0,
        rowsPerSecond: 0,
        latencyMs: {},
        memoryUsedBytes: (i % 80) * 2 ** 30,
        memoryTotalBytes: 80 * 2 ** 30,
      },
    };
    manager.heartbeat(connection, message);
    all.push(manager.get(`w${i}`)!);
  }
  // The naive way: scan every worker for pool and model, keep the least loaded.
  const naive = (model: string, pool: string) => {
    let best: ManagedWorker | undefined;
    for (const w of all) {
      if (w.pool !== pool || !w.models.has(`${model}@1`)) continue;
      if (!best || w.outstanding < best.outstanding) best = w;
    }
    return best;
  };
  const measure = (pick: (i: number) => unknown) => {
    const samples: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      all[i % 1000].outstanding = (i * 7919) % 17;
      const t0 = process.hrtime.bigint();
      pick(i);
      samples.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    samples.sort((a, b) => a - b);
    return {
      p50Us: +percentile(samples, 50).toFixed(2),
      p99Us: +percentile(samples, 99).toFixed(2),
      maxUs: +samples[samples.length - 1].toFixed(1),
    };
  };
  // Worst case for the index: a model every worker has ('shared'), so all 100 of a pool compete.
  const ours = measure(i => manager.pick('shared', '1', [`pool-${i % 10}`]));
  const oursAffine = measure(i =>
    manager.pick(`model-${i % 20}`, '1', [`pool-${i % 10}`]),
  );
  const baseline = measure(i => naive('shared', `pool-${i % 10}`));
  const judged = verdict({
    figure: 'allocation, 1,000 workers, p99',
    value: ours.p99Us,
    unit: 'µs',
    baseline: { name: 'naive scan', value: baseline.p99Us, unit: 'µs' },
    ratio: +(baseline.p99Us / ours.p99Us).toFixed(2),
    goal: { op: '<', value: 1000, unit: 'µs' },
  });
  return {
    workers: 1000,
    pools: 10,
    picks: 200_000,
    sharedModel: ours,
    affineModel: oursAffine,
    baselineNaiveScan: baseline,
    ratioP99VsNaiveScan: judged.ratio,
    goal: `p99 ${judged.goalText} with 1,000 registered workers`,
    met: judged.goalMet,
    verdicts: [judged],
  };
}

async function gatewayStack(workers: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-bench-'));
  const { knex, db, pools: poolStore } = await openBenchDatabase(dir);
  const audit = new AuditTrail(db, { logger });
  const manager = new GpuManager({ logger });
  manager.start();
  // Wired as the plugin's inference capability wires them (createInferenceCapability).
  const artifacts = new ModelArtifacts(modelsDir);
  const models = new ModelRegistry(
    new ModelStore(db),
    poolStore,
    artifacts,
    new AuditedChanges(db, audit),
    logger,
  );
  const placement = new ModelPlacement(manager, artifacts, { logger });
  manager.addListener({
    joined: worker => placement.joined(worker, models.deployedIn(worker.pool)),
  });
  await models.refresh();
  await models.seedFromConfig([nhits]);
  const embedded = new EmbeddedWorkers({
    count: workers,
    pool: 'cpu-dr',
    mode: embeddedMode(),
    intraOpThreads: INTRA_OP_THREADS,
    events: manager,
    logger,
    modelsDir,
  });
  embedded.start();
  const deadline = Date.now() + 60_000;
  while (
    placement.describe(models.get('nhits-price', '1')).placements.length <
    workers
  ) {
    if (Date.now() > deadline)
      throw new Error('workers did not load the model');
    await new Promise(r => setTimeout(r, 50));
  }
  const gateway = new InferenceGateway(models, manager, undefined);
  return {
    gateway,
    mode: embedded.mode,
    intraOpThreads: embedded.intraOpThreads,
    async close() {
      await embedded.stop();
      await manager.close();
      await knex.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Median, min and max of a figure over the rounds of one run. */
interface Spread {
  median: number;
  min: number;
  max: number;
}

function spread(values: number[], digits = 2): Spread {
  const round = (n: number) => +n.toFixed(digits);
  return {
    median: round(median(values)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
  };
}

/** `5,000 (4,800–5,200)`: a median with the min and max of its rounds. */
function shownSpread(s: Spread, unit = ''): string {
  return `${formatNumber(s.median)}${unit} (${formatNumber(
    s.min,
  )}–${formatNumber(s.max)})`;
}

/** Rounds of every figure: each is the median of this many, shown with its min and max. */
const ROUNDS = 3;

async function gatewayVsRaw() {
  const input = windows(64);
  const bytes = fs.readFileSync(path.join(modelsDir, nhits.artifact));
  const session = await ort.InferenceSession.create(bytes);
  const tensor = () => ({
    window: new ort.Tensor('float32', input, [64, 120]),
  });
  await session.run(tensor());

  const stack = await gatewayStack(2);
  const call = () =>
    stack.gateway.predict({
      model: 'nhits-price',
      rows: 64,
      featureShape: [120],
      input,
    });
  await closedLoop(4, 1, call);
  // Raw and gateway alternate, so a drift in the machine's load weighs on both alike.
  const raw: number[] = [];
  const gateway: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    raw.push(
      (await closedLoop(1, SECONDS, () => session.run(tensor()))).perSecond,
    );
    gateway.push((await closedLoop(4, SECONDS, call)).perSecond);
  }
  const one = await closedLoop(1, SECONDS, call);
  await session.release();
  await stack.close();
  const rows = (perSecond: number) => Math.round(perSecond * 64);
  const rawRows = spread(raw.map(rows), 0);
  const gatewayRows = spread(gateway.map(rows), 0);
  const ratios = spread(gateway.map((g, i) => g / raw[i]));
  const judged = verdict({
    figure: 'gateway (embedded workers), batch 64',
    value: gatewayRows.median,
    unit: 'rows/s',
    baseline: {
      name: 'raw onnxruntime',
      value: rawRows.median,
      unit: 'rows/s',
    },
    ratio: ratios.median,
    goal: { of: 'ratio', op: '>=', value: 0.8, unit: 'x' },
    shown: {
      value: `${shownSpread(gatewayRows)} rows/s`,
      baseline: `raw onnxruntime ${shownSpread(rawRows)} rows/s → ${shownSpread(
        ratios,
        'x',
      )}; median of ${ROUNDS} rounds (min–max)`,
    },
  });
  return {
    batch: 64,
    rounds: ROUNDS,
    baselineRawOnnxruntimeRowsPerSecond: rawRows,
    baselineNote:
      'one InferenceSession in this process, onnxruntime default threads (all cores), sequential calls',
    gatewayRowsPerSecond: gatewayRows,
    gatewayNote: `2 embedded workers (${stack.mode}, ${stack.intraOpThreads} intra-op thread(s) each), 4 concurrent callers; rounds alternate with raw`,
    ratioVsRaw: ratios,
    gatewayOneCallerRowsPerSecond: rows(one.perSecond),
    ratioOneCallerVsRaw: +(one.perSecond / median(raw)).toFixed(2),
    goal: `${judged.goalText} raw onnxruntime rows/s, on the median of ${ROUNDS} rounds`,
    met: judged.goalMet,
    verdicts: [judged],
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** What loadgen.cjs prints: percentiles are null when no request succeeded. */
interface LoadgenResult {
  requests: number;
  failures: Record<string, number>;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

function loadgen(options: Record<string, unknown>): Promise<LoadgenResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        path.join(packageDir, 'src', 'bench', 'loadgen.cjs'),
        JSON.stringify(options),
      ],
      { maxBuffer: 1 << 20 },
      (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout))),
    );
  });
}

async function httpRoute() {
  const port = await freePort();
  const token = crypto.randomBytes(24).toString('base64url');
  // A second caller whom gekko.rateLimits exempts, for the limiter's cost.
  const unlimitedToken = crypto.randomBytes(24).toString('base64url');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-bench-http-'));
  const configFile = path.join(dir, 'app-config.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      app: { baseUrl: 'http://127.0.0.1:3000' },
      backend: {
        baseUrl: `http://127.0.0.1:${port}`,
        listen: { host: '127.0.0.1', port },
        database: {
          client: 'better-sqlite3',
          connection: { directory: dir },
        },
        auth: {
          externalAccess: [
            { type: 'static', options: { token, subject: 'bench' } },
            {
              type: 'static',
              options: { token: unlimitedToken, subject: 'bench-unlimited' },
            },
          ],
        },
      },
      permission: { enabled: true },
      gekko: {
        gpuPools: [
          {
            name: 'cpu-dr',
            title: 'CPU',
            accelerator: 'cpu',
            region: 'dr',
            capacity: { devices: 0, memoryGiB: 16 },
            owner: 'group:default/platform',
          },
        ],
        inference: {
          modelsDir,
          embedded: {
            workers: HTTP_WORKERS,
            pool: 'cpu-dr',
            mode: EMBEDDED_MODE,
            ...(INTRA_OP_THREADS ? { intraOpThreads: INTRA_OP_THREADS } : {}),
          },
          models: [nhits],
          dataPlane: { port: 0 },
        },
        // The default limits apply to `bench`, as to any caller.
        rateLimits: {
          overrides: [
            { caller: 'bench-unlimited', predict: { enabled: false } },
          ],
        },
      },
    }),
  );
  process.argv.push('--config', configFile);
  const backend = createBackend();
  backend.add(import('../index'));
  await backend.start();
  const base = `http://127.0.0.1:${port}/api/gekko`;
  const headers = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
  };
  // Wait for both workers to have the model.
  for (let i = 0; ; i++) {
    const res = await fetch(`${base}/inference/models/nhits-price/versions/1`, {
      headers,
    });
    if (res.ok && (await res.json()).placements.length >= HTTP_WORKERS) break;
    if (i > 600) throw new Error('model never loaded');
    await new Promise(r => setTimeout(r, 100));
  }
  const jsonBody = JSON.stringify({ inputs: [Array.from(windows(1))] });
  const binaryBody = Buffer.from(windows(1).buffer);
  const sample = await fetch(`${base}/inference/models/nhits-price/predict`, {
    method: 'POST',
    headers,
    body: jsonBody,
  });
  const sampleText = await sample.text();
  if (!sample.ok) throw new Error(`predict failed: ${sampleText}`);

  const common = {
    concurrency: 16,
    durationMs: SECONDS * 1000,
    warmupMs: 1000,
  };
  const predictUrl = `${base}/inference/models/nhits-price/predict`;
  const jsonLoad = {
    method: 'POST',
    headers,
    bodyBase64: Buffer.from(jsonBody).toString('base64'),
  };
  const binaryLoad = {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/octet-stream',
      'x-gekko-shape': '1,120',
    },
    bodyBase64: binaryBody.toString('base64'),
  };
  // The same route on the data plane port (no Express stack).
  const plane = await (
    await fetch(`${base}/inference/data-plane`, { headers })
  ).json();
  const planeUrl = `${plane.url}/api/gekko/inference/models/nhits-price/predict`;

  // Baselines, each in its own process, up for the whole run so their rounds alternate with ours:
  // the limit (the same model through one raw onnxruntime session behind a bare node:http server: no
  // auth, no batching, no threads), and a bare node:http server that answers the same bytes.
  const startLimit = (
    listenPort: number,
    options: Record<string, unknown> = {},
  ) =>
    startProcess([
      path.join(packageDir, 'src', 'bench', 'limitBaseline.cjs'),
      JSON.stringify({
        model: path.join(modelsDir, nhits.artifact),
        port: listenPort,
        ...options,
      }),
    ]);
  const limitPort = await freePort();
  const limitServer = await startLimit(limitPort);
  const barePort = await freePort();
  const bareServer = await startProcess([
    '-e',
    `const body = ${JSON.stringify(sampleText)};
     require('node:http').createServer((req, res) => {
       req.on('data', () => {});
       req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end(body); });
     }).listen(${barePort}, '127.0.0.1', () => process.stdout.write('ready\\n'));`,
  ]);

  // Every load, in the order of one round; ROUNDS rounds, so each figure is a median of ROUNDS.
  const loads: Record<string, Record<string, unknown>> = {
    limit8: {
      ...jsonLoad,
      concurrency: 8,
      url: `http://127.0.0.1:${limitPort}/`,
    },
    dataPlane8: { ...jsonLoad, concurrency: 8, url: planeUrl },
    limit16: { ...jsonLoad, url: `http://127.0.0.1:${limitPort}/` },
    dataPlane16: { ...jsonLoad, url: planeUrl },
    portal: { ...jsonLoad, url: predictUrl },
    // The same backend's cheapest authenticated route: the ceiling of Backstage's HTTP stack here
    // (helmet, cors, compression, token check, express), before any inference work.
    ceiling: {
      method: 'GET',
      url: `${base}/gpu/capacity`,
      headers: { authorization: `Bearer ${token}` },
    },
    portalBinary: { ...binaryLoad, url: predictUrl },
    dataPlaneBinary: { ...binaryLoad, url: planeUrl },
    bare: {
      ...jsonLoad,
      headers: { 'content-type': 'application/json' },
      url: `http://127.0.0.1:${barePort}/`,
    },
  };
  // Dev modes only (GEKKO_BENCH_LOADS or GEKKO_BENCH_PROFILE): the limit baseline with batching (see
  // limitBaseline.cjs), which tells what batching buys a process with nothing else in it.
  const picked = process.env.GEKKO_BENCH_LOADS?.split(',');
  const profiled = process.env.GEKKO_BENCH_PROFILE?.split(',');
  const batchedPort = await freePort();
  const batchedServer = [...(picked ?? []), ...(profiled ?? [])].some(n =>
    n.startsWith('limitBatched'),
  )
    ? await startLimit(batchedPort, {
        batching: true,
        // The data plane's embedded workers' intra-op threads: a second thread per batch run costs
        // more than it gives on 2 cores (see defaultIntraOpThreads).
        intraOpThreads:
          INTRA_OP_THREADS ??
          defaultIntraOpThreads(HTTP_WORKERS, undefined, embeddedMode()),
      })
    : undefined;
  // The judged loads, and the dev loads that only GEKKO_BENCH_LOADS or GEKKO_BENCH_PROFILE may name.
  const namedLoads: Record<string, Record<string, unknown>> = {
    ...loads,
    limitBatched8: { ...loads.limit8, url: `http://127.0.0.1:${batchedPort}/` },
    limitBatched16: {
      ...loads.limit16,
      url: `http://127.0.0.1:${batchedPort}/`,
    },
  };
  const stopBaselines = () => {
    limitServer.kill();
    bareServer.kill();
    batchedServer?.kill();
  };
  const stopBackend = async () => {
    await backend.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  // Dev modes, instead of the judged rounds (for trying a change or finding where time goes).
  // Every server's first seconds under load are not its steady state (the JIT, a young heap whose
  // first scavenges promote what start-up left in it, a mark-compact): each load runs once, for 3 s,
  // before any measured round, and what it measures is dropped.
  for (const name of [...new Set(picked ?? profiled ?? Object.keys(loads))]) {
    if (!namedLoads[name]) continue;
    await loadgen({ ...common, ...namedLoads[name], durationMs: 2000 });
  }
  if (picked || profiled) {
    const loaded = (name: string) => {
      if (!namedLoads[name]) {
        throw new Error(`no load ${name} in this benchmark`);
      }
      return { ...common, ...namedLoads[name] };
    };
    const section = picked
      ? {
          quick: await quickLoads(
            picked.map(n => [n, loaded(n)]),
            // Whose CPU a load costs: the baselines' own processes, or this one (the backend).
            name => {
              if (name.startsWith('limitBatched')) return batchedServer?.pid;
              if (name.startsWith('limit')) return limitServer.pid;
              return name === 'bare' ? bareServer.pid : process.pid;
            },
          ),
        }
      : { profiles: await profileLoads(profiled!.map(n => [n, loaded(n)])) };
    stopBaselines();
    await stopBackend();
    return { ...section, verdicts: [] };
  }
  const runs: Record<string, LoadgenResult[]> = {};
  const loadAverages: number[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    loadAverages.push(os.loadavg().map(l => +l.toFixed(2)));
    for (const [name, load] of Object.entries(loads)) {
      (runs[name] ??= []).push(await loadgen({ ...common, ...load }));
    }
  }
  stopBaselines();

  // The rate limiter's cost: the same load from `bench` (limited) and `bench-unlimited` (exempt),
  // in alternating rounds.
  const limiterRounds = 4;
  const limiterRun = (bearer: string) =>
    loadgen({
      ...common,
      durationMs: (SECONDS * 1000) / 2,
      url: planeUrl,
      method: 'POST',
      headers: {
        authorization: `Bearer ${bearer}`,
        'content-type': 'application/json',
      },
      bodyBase64: Buffer.from(jsonBody).toString('base64'),
    });
  const limited: LoadgenResult[] = [];
  const unlimited: LoadgenResult[] = [];
  for (let round = 0; round < limiterRounds; round++) {
    // Off-on, then on-off (ABBA): a drift in the machine's load, or a slow first run, favours neither.
    if (round % 2 === 0) unlimited.push(await limiterRun(unlimitedToken));
    limited.push(await limiterRun(token));
    if (round % 2 === 1) unlimited.push(await limiterRun(unlimitedToken));
  }
  await stopBackend();

  const failed = (r: LoadgenResult) =>
    Object.values(r.failures).reduce((a, b) => a + b, 0);
  /** A load's rounds: requests/s, p50 and p99 as median (min–max), failures summed. */
  const summary = (name: string) => ({
    requestsPerSecond: spread(
      runs[name].map(r => r.requestsPerSecond),
      0,
    ),
    p50Ms: spread(runs[name].map(r => r.p50Ms ?? Infinity)),
    p99Ms: spread(runs[name].map(r => r.p99Ms ?? Infinity)),
    failedRequests: runs[name].reduce((sum, r) => sum + failed(r), 0),
    rounds: runs[name],
  });
  /** Per round, `name` against `baseline`: the median of the rounds' ratios, with min and max. */
  const ratio = (
    name: string,
    baseline: string,
    of: (r: LoadgenResult) => number = r => r.requestsPerSecond,
  ) => spread(runs[name].map((r, i) => of(r) / of(runs[baseline][i])));
  const p99 = (r: LoadgenResult) => r.p99Ms ?? Infinity;
  const rps = (name: string) => summary(name).requestsPerSecond;
  const shownLoad = (name: string) => {
    const s = summary(name);
    return `${shownSpread(s.requestsPerSecond)} req/s, p99 ${shownSpread(
      s.p99Ms,
      ' ms',
    )}${s.failedRequests ? `, ${formatNumber(s.failedRequests)} failed` : ''}`;
  };

  // The portal route against Backstage's cheapest route on the same backend.
  const portalRatio = ratio('portal', 'ceiling');
  const portalRoute = verdict({
    figure: 'HTTP predict, portal route, batch 1, 16 clients',
    value: rps('portal').median,
    unit: 'req/s',
    measures: {
      p99: { value: summary('portal').p99Ms.median, unit: 'ms' },
      'failed requests': {
        value: summary('portal').failedRequests,
        unit: 'requests',
      },
    },
    baseline: {
      name: "Backstage's cheapest route",
      value: rps('ceiling').median,
      unit: 'req/s',
    },
    ratio: portalRatio.median,
    goal: {
      of: 'ratio',
      op: '>=',
      value: 0.8,
      unit: 'x',
      and: [{ of: 'failed requests', op: '==', value: 0, unit: '' }],
    },
    shown: {
      value: shownLoad('portal'),
      baseline: `Backstage's cheapest route ${shownLoad(
        'ceiling',
      )} → ${shownSpread(portalRatio, 'x')}`,
    },
  });
  // The data plane against the limit baseline at the same client count.
  const dataPlane = (clients: 8 | 16) => {
    const name = `dataPlane${clients}`;
    const limit = `limit${clients}`;
    const throughput = ratio(name, limit);
    const latency = ratio(name, limit, p99);
    const s = summary(name);
    const and: Goal[] = [
      { of: 'p99 vs limit baseline', op: '<=', value: 1.5, unit: 'x' },
      ...(clients === 8
        ? [{ of: 'p99', op: '<', value: 5, unit: 'ms' } as Goal]
        : []),
      { of: 'req/s', op: '>=', value: 5000, unit: 'req/s' },
      { of: 'failed requests', op: '==', value: 0, unit: '' },
    ];
    return verdict({
      figure: `HTTP predict, data plane, ${clients} clients`,
      value: s.requestsPerSecond.median,
      unit: 'req/s',
      measures: {
        'req/s': { value: s.requestsPerSecond.median, unit: 'req/s' },
        p99: { value: s.p99Ms.median, unit: 'ms' },
        'p99 vs limit baseline': { value: latency.median, unit: 'x' },
        'failed requests': { value: s.failedRequests, unit: 'requests' },
      },
      baseline: {
        name: 'limit baseline (raw onnxruntime behind bare node:http)',
        value: rps(limit).median,
        unit: 'req/s',
      },
      ratio: throughput.median,
      goal: { of: 'ratio', op: '>=', value: 0.8, unit: 'x', and },
      shown: {
        value: shownLoad(name),
        baseline: `limit baseline ${shownLoad(limit)} → ${shownSpread(
          throughput,
          'x',
        )}, p99 ${shownSpread(
          latency,
          'x',
        )}; bare node:http (canned answer) ${shownSpread(rps('bare'))} req/s`,
      },
    });
  };
  const limiter = rateLimiterCost(limited, unlimited, limiterCheckNs());

  return {
    batch: 1,
    concurrency: common.concurrency,
    seconds: SECONDS,
    rounds: ROUNDS,
    note: 'every figure is the median of its rounds with min and max; the loads of one round run one after another (order: limit8, dataPlane8, limit16, dataPlane16, portal, ceiling, portalBinary, dataPlaneBinary, bare), so each ratio is taken within a round and its median reported; before the first round each load runs once for 3 s (1 s warm-up, 2 s load), unmeasured, so no round holds a server’s first seconds (JIT, first scavenges)',
    loadAverageAtRoundStart: loadAverages,
    authentication:
      'static external-access token (a service principal), permission framework enabled',
    json: summary('portal'),
    binary: summary('portalBinary'),
    dataPlaneJson: summary('dataPlane16'),
    dataPlaneJsonConcurrency8: summary('dataPlane8'),
    dataPlaneBinary: summary('dataPlaneBinary'),
    baselineLimitConcurrency16: summary('limit16'),
    baselineLimitConcurrency8: summary('limit8'),
    baselineLimitNote:
      'the same model and JSON body through one raw onnxruntime session (default threads) behind a bare node:http server in its own process: no auth, no batching, no worker threads',
    ratioDataPlaneVsLimit16: ratio('dataPlane16', 'limit16'),
    ratioDataPlaneVsLimit8: ratio('dataPlane8', 'limit8'),
    ratioDataPlaneP99VsLimit16: ratio('dataPlane16', 'limit16', p99),
    ratioDataPlaneP99VsLimit8: ratio('dataPlane8', 'limit8', p99),
    baselineBareNodeHttp: summary('bare'),
    ratioDataPlaneJsonVsBareHttp: ratio('dataPlane16', 'bare'),
    ratioJsonVsBareHttp: ratio('portal', 'bare'),
    baselineBackstageCheapestRoute: summary('ceiling'),
    ratioJsonVsBackstageCheapestRoute: portalRatio,
    ratioBinaryVsBackstageCheapestRoute: ratio('portalBinary', 'ceiling'),
    rateLimiterCost: limiter.ratio,
    rateLimiter: limiter.section,
    verdicts: [portalRoute, dataPlane(8), dataPlane(16), limiter.verdict],
  };
}

/** CPU seconds process `pid` has used so far, all its threads, user and system (Linux). */
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const fields = fs
      .readFileSync(`/proc/${pid}/stat`, 'utf8')
      .split(') ')[1]
      .split(' ');
    // utime and stime, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/**
 * This process's scavenges while `work` runs: how many, their mean pause, and what each promoted to
 * the old generation on average (old space after minus before). Promotion is the tell of objects
 * that outlive a scavenge interval on the hot path: it makes scavenges slower and feeds
 * mark-compacts, and so the tail.
 */
async function scavengesDuring<T>(work: () => Promise<T>) {
  const profiler = new v8.GCProfiler();
  profiler.start();
  const result = await work();
  // Node's GCProfiler names the fields in camelCase, unlike its own typings (v8.HeapSpaceInfo).
  type Spaces = Array<{ spaceName: string; spaceUsedSize: number }>;
  const { statistics } = profiler.stop() as unknown as {
    statistics: Array<{
      gcType: string;
      /** µs */
      cost: number;
      beforeGC: { heapSpaceStatistics: Spaces };
      afterGC: { heapSpaceStatistics: Spaces };
    }>;
  };
  const oldSpace = (spaces: Spaces) =>
    spaces.find(space => space.spaceName === 'old_space')?.spaceUsedSize ?? 0;
  const scavenges = statistics.filter(s => s.gcType === 'Scavenge');
  const mean = (values: number[]) =>
    values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  return {
    result,
    scavenges: scavenges.length,
    meanPauseMs: mean(scavenges.map(s => s.cost / 1000)),
    promotedKbPerScavenge: mean(
      scavenges.map(
        s =>
          (oldSpace(s.afterGC.heapSpaceStatistics) -
            oldSpace(s.beforeGC.heapSpaceStatistics)) /
          1024,
      ),
    ),
    markCompacts: statistics.filter(s => s.gcType === 'MarkSweepCompact')
      .length,
  };
}

/**
 * `GEKKO_BENCH_LOADS=limit8,dataPlane8`: only these loads, ROUNDS rounds each, printed and not
 * judged. Each round prints the server's CPU per request (the baselines' processes, or this one),
 * which noise on a shared machine moves less than req/s, the backend's event-loop delay, and its
 * scavenges: pause and promotion (see {@link scavengesDuring}).
 */
async function quickLoads(
  named: Array<[string, Record<string, unknown>]>,
  serverPid: (name: string) => number | undefined,
) {
  const quick: Record<string, LoadgenResult[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, load] of named) {
      const delay = monitorEventLoopDelay({ resolution: 1 });
      delay.enable();
      const pid = serverPid(name);
      const cpuBefore = cpuSeconds(pid);
      const gc = await scavengesDuring(() => loadgen(load));
      const cpuAfter = cpuSeconds(pid);
      delay.disable();
      const { result } = gc;
      (quick[name] ??= []).push(result);
      // The load generator's warm-up is served too, but not counted in `requests`.
      const served =
        result.requests *
        (1 + Number(load.warmupMs ?? 0) / Number(load.durationMs));
      const cpu =
        cpuBefore !== undefined && cpuAfter !== undefined
          ? `, server CPU ${(((cpuAfter - cpuBefore) * 1e6) / served).toFixed(
              0,
            )} µs/request`
          : '';
      const backend =
        pid === process.pid
          ? `; scavenges ${gc.scavenges} of ${gc.meanPauseMs.toFixed(
              2,
            )} ms, promoting ${gc.promotedKbPerScavenge.toFixed(
              0,
            )} KB each; mark-compacts ${gc.markCompacts}`
          : '';
      process.stdout.write(
        `  ${name} round ${round}: ${formatNumber(
          result.requestsPerSecond,
        )} req/s, p99 ${result.p99Ms} ms${cpu}; loop delay p99 ${(
          delay.percentile(99) / 1e6
        ).toFixed(2)} ms max ${(delay.max / 1e6).toFixed(1)} ms${backend}\n`,
      );
    }
  }
  for (const [name, rounds] of Object.entries(quick)) {
    const rps = spread(
      rounds.map(r => r.requestsPerSecond),
      0,
    );
    const p99 = spread(rounds.map(r => r.p99Ms ?? Infinity));
    process.stdout.write(
      `${name}: ${shownSpread(rps)} req/s, p99 ${shownSpread(p99, ' ms')}\n`,
    );
  }
  return quick;
}

/**
 * `GEKKO_BENCH_PROFILE=dataPlane16`: the backend's event loop profiled under each load once, the
 * profile written to GEKKO_BENCH_OUT and its top frames printed; `GEKKO_BENCH_PROFILE_HEAP=1`
 * samples allocations instead of CPU time; `=promoted` only those that outlived the young
 * generation, `=live` only those still alive at the load's end.
 */
async function profileLoads(named: Array<[string, Record<string, unknown>]>) {
  const heapMode = process.env.GEKKO_BENCH_PROFILE_HEAP;
  const kept =
    heapMode === 'promoted' || heapMode === 'live' ? heapMode : undefined;
  const heap = heapMode === '1' || kept !== undefined;
  const profiles: Record<string, unknown> = {};
  for (const [name, load] of named) {
    const file = path.join(
      process.env.GEKKO_BENCH_OUT ?? os.tmpdir(),
      `profile-${name}.${heap ? 'heapprofile' : 'cpuprofile'}`,
    );
    const work = () => loadgen(load);
    const { result, top } = heap
      ? await profileAllocations(file, work, 15, kept)
      : await profileWhile(file, work);
    process.stdout.write(
      `${name}: ${formatNumber(result.requestsPerSecond)} req/s, p99 ${
        result.p99Ms
      } ms; event loop ${heap ? 'allocations' : 'self time'} (${file}):\n${top
        .map(f => `  ${f.selfPercent}%  ${f.frame}`)
        .join('\n')}\n`,
    );
    profiles[name] = { load: result, file, top };
  }
  return profiles;
}

/** Starts `node <args>` and resolves once it prints its first line (`ready`). */
async function startProcess(args: string[]) {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', code =>
      reject(new Error(`baseline server exited with code ${code}`)),
    );
  });
  return child;
}

/**
 * What one admitted predict costs the limiter, in ns, in this process: the data plane's hot path
 * (`tryAdmit`: the caller's bucket found and a token taken, no promise), under a limit never reached.
 */
function limiterCheckNs(): number {
  const limits = new CallerRateLimits(
    { predict: { requests: 1e12, per: 'second', burst: 1e12 }, overrides: [] },
    {
      audit: { append: () => Promise.reject(new Error('never refused')) },
      logger,
    },
  );
  const calls = 1_000_000;
  let admitted = 0;
  for (let i = 0; i < calls / 10; i++) {
    if (limits.tryAdmit('predict', 'bench')) admitted++;
  }
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    if (limits.tryAdmit('predict', 'bench')) admitted++;
  }
  const ns = Number(process.hrtime.bigint() - started) / calls;
  if (admitted !== calls + calls / 10) {
    throw new Error(
      `the limiter refused ${calls + calls / 10 - admitted} calls`,
    );
  }
  return ns;
}

/**
 * The data plane's throughput with the per-caller rate limiter against without it (same load, same
 * run, alternating rounds): the ratio of their request totals over equal durations, and the
 * median of the rounds' ratios.
 */
function rateLimiterCost(
  limited: LoadgenResult[],
  unlimited: LoadgenResult[],
  checkNs: number,
) {
  const total = (runs: LoadgenResult[]) => ({
    requests: runs.reduce((sum, r) => sum + r.requests, 0),
    seconds: runs.reduce((sum, r) => sum + r.seconds, 0),
    failed: runs.reduce(
      (sum, r) => sum + Object.values(r.failures).reduce((a, b) => a + b, 0),
      0,
    ),
  });
  const on = total(limited);
  const off = total(unlimited);
  const rate = (t: typeof on) => Math.round(t.requests / t.seconds);
  const ratio = +(rate(on) / rate(off)).toFixed(3);
  const share = (checkNs * rate(off)) / 1e9;
  const judged = verdict({
    figure: 'HTTP predict, data plane, rate limiter on',
    value: rate(on),
    unit: 'req/s',
    measures: { 'failed requests': { value: on.failed, unit: 'requests' } },
    baseline: { name: 'rate limiter off', value: rate(off), unit: 'req/s' },
    ratio,
    goal: {
      of: 'ratio',
      op: '>=',
      value: 0.95,
      unit: 'x',
      and: [{ of: 'failed requests', op: '==', value: 0, unit: '' }],
    },
    shown: {
      baseline: `rate limiter off ${formatNumber(
        rate(off),
      )} req/s → ${ratio}x; one check ${checkNs.toFixed(0)} ns, ${(
        share * 100
      ).toFixed(2)} % of a request`,
    },
  });
  return {
    ratio,
    verdict: judged,
    section: {
      rounds: limited.length,
      note: 'the same load on the same data plane (16 clients, JSON, batch 1) from a caller under the default limit (never reached) and from one an override exempts; rounds alternate exempt-limited, limited-exempt',
      medianRoundRatio: +median(
        limited.map(
          (r, i) => r.requestsPerSecond / unlimited[i].requestsPerSecond,
        ),
      ).toFixed(3),
      limitedRequestsPerSecond: rate(on),
      unlimitedRequestsPerSecond: rate(off),
      // The same cost without the HTTP noise: one check against one request's time, unlimited.
      checkNs: +checkNs.toFixed(1),
      checkShareOfRequestTime: +share.toFixed(5),
      limited,
      unlimited,
    },
  };
}

async function main() {
  process.env.LOG_LEVEL ??= 'warn';
  const verdicts: Verdict[] = [];
  const results: Record<string, unknown> & {
    time: string;
    verdicts: Verdict[];
  } = {
    benchmark: 'inference',
    time: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    /** Every process of the run (backend, baselines, load generator) ran with these. */
    nodeOptions: process.env.NODE_OPTIONS ?? '',
    verdicts,
  };
  // Each part's verdicts go to `verdicts` (the summary of npm run bench), the rest to its section.
  const record = (
    key: string,
    part: { verdicts: Verdict[] } & Record<string, unknown>,
  ) => {
    const { verdicts: judged, ...section } = part;
    results[key] = section;
    verdicts.push(...judged);
  };
  // GEKKO_BENCH_ONLY=allocation,gateway,http runs a subset (for profiling); npm run bench runs all.
  const only = process.env.GEKKO_BENCH_ONLY?.split(',');
  const run = (part: string) => !only || only.includes(part);
  if (run('allocation')) {
    process.stdout.write('allocation…\n');
    record('allocation', allocationBench());
  }
  if (run('gateway')) {
    process.stdout.write('gateway vs raw onnxruntime…\n');
    record('gatewayVsRaw', await gatewayVsRaw());
  }
  if (run('http')) {
    process.stdout.write('HTTP predict route…\n');
    record('httpRoute', await httpRoute());
  }
  writeBenchResults('inference', results);
  process.exit(0);
}

main().catch(error => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
