import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { BatchTooLargeError, DynamicBatcher } from '../batching/DynamicBatcher';
import { makeMlpModel } from '../testing/makeMlpModel';
import { ModelHost, ModelNotLoadedError, SessionFactory } from './ModelHost';

function rowsOf(rows: number, seed: number): Float32Array {
  return Float32Array.from(
    { length: rows * 8 },
    (_, i) => Math.cos(i * 0.7 + seed) * 2,
  );
}

describe('ModelHost', () => {
  let host: ModelHost;

  beforeEach(() => {
    host = new ModelHost();
  });

  afterEach(async () => {
    await host.close();
  });

  it('loads a model from bytes and describes its inputs and outputs', async () => {
    const model = await host.load({
      name: 'mlp',
      version: '1',
      source: { bytes: makeMlpModel() },
    });

    expect(model.inputs).toEqual([
      { name: 'input', type: 'float32', shape: ['batch', 8] },
    ]);
    expect(model.outputs).toEqual([
      { name: 'output', type: 'float32', shape: ['batch', 4] },
    ]);
    const { output } = await host.run('mlp', '1', rowsOf(3, 1), 3);
    expect(output.dims).toEqual([3, 4]);
    expect(output.data).toHaveLength(12);
  });

  it('reports the cpu provider on this machine, which has no CUDA libraries', async () => {
    const model = await host.load({
      name: 'mlp',
      version: '1',
      source: { bytes: makeMlpModel() },
    });

    expect(model.provider).toBe('cpu');
    expect(model.providers).toEqual(['cpu']);
    // The npm build lists cuda, but its provider library is not installed here
    // (ONNXRUNTIME_NODE_INSTALL=skip), so the host does not even try it.
    expect(model.fallbacks).toEqual([]);
  });

  it('tries a provider whose library failed to load only once per host', async () => {
    const first = await host.load({
      name: 'a',
      version: '1',
      source: { bytes: makeMlpModel() },
    });
    const second = await host.load({
      name: 'b',
      version: '1',
      source: { bytes: makeMlpModel() },
    });

    expect(second.provider).toBe('cpu');
    expect(second.fallbacks).toEqual([]);
    expect(first.fallbacks.length).toBeLessThanOrEqual(1);
  });

  it('refuses to load the same name and version twice, even concurrently', async () => {
    const load = () =>
      host.load({
        name: 'mlp',
        version: '1',
        source: { bytes: makeMlpModel() },
      });

    const results = await Promise.allSettled([load(), load()]);

    expect(results.map(r => r.status).sort()).toEqual([
      'fulfilled',
      'rejected',
    ]);
    expect(host.list()).toHaveLength(1);
  });

  it('reports the providers list that session creation accepted, not the one it wished for', async () => {
    const attempts: string[][] = [];
    const sessionFactory: SessionFactory = async (bytes, options) => {
      const providers = options.executionProviders as string[];
      attempts.push(providers);
      if (providers[0] === 'coreml') {
        throw new Error('CoreML refused the model');
      }
      return ort.InferenceSession.create(bytes as Uint8Array, {
        executionProviders: ['cpu'],
      });
    };
    const macHost = new ModelHost({
      platform: 'darwin',
      arch: 'arm64',
      supportedBackends: ['cpu', 'coreml'],
      sessionFactory,
    });

    const model = await macHost.load({
      name: 'mlp',
      version: '1',
      source: { bytes: makeMlpModel() },
    });
    await macHost.close();

    expect(attempts).toEqual([['coreml', 'cpu'], ['cpu']]);
    expect(model.provider).toBe('cpu');
    expect(model.fallbacks[0].error).toContain('CoreML refused the model');
  });

  it('warms a new session up on zeros, at batch 1 and at its largest batch, before it serves', async () => {
    const runs: number[][] = [];
    const sessionFactory: SessionFactory = async (bytes, options) => {
      const session = await ort.InferenceSession.create(
        bytes as Uint8Array,
        options,
      );
      const run = session.run.bind(session);
      session.run = (async (feeds: ort.InferenceSession.FeedsType) => {
        const input = feeds.input as ort.Tensor;
        runs.push([...input.dims]);
        return run(feeds);
      }) as typeof session.run;
      return session;
    };
    const warmed = new ModelHost({ sessionFactory });
    await warmed.load({
      name: 'mlp',
      version: '1',
      source: { bytes: makeMlpModel() },
      batching: { maxBatchSize: 16 },
    });
    // Every warm-up run happened before load() answered; none is left for the first request.
    expect(runs).toEqual([
      [1, 8],
      [1, 8],
      [1, 8],
      [16, 8],
    ]);
    await warmed.run('mlp', '1', rowsOf(2, 1), 2);
    expect(runs).toHaveLength(5);
    await warmed.close();
  });

  it('never asks for a provider this onnxruntime build lacks', () => {
    const linuxHost = new ModelHost({
      platform: 'linux',
      arch: 'x64',
      supportedBackends: ['cpu', 'webgpu'],
    });

    expect(linuxHost.providerCandidates('auto')).toEqual([['cpu']]);
    expect(linuxHost.providerCandidates('coreml')).toEqual([['cpu']]);
  });

  it('holds many models by name and version, and unloads them at run time', async () => {
    for (let i = 0; i < 12; i++) {
      await host.load({
        name: `model-${i % 6}`,
        version: `v${Math.floor(i / 6) + 1}`,
        source: { bytes: makeMlpModel({ seed: i + 1 }) },
      });
    }
    expect(host.list()).toHaveLength(12);

    const input = rowsOf(1, 3);
    const v1 = await host.run('model-2', 'v1', input, 1);
    const v2 = await host.run('model-2', 'v2', input, 1);
    expect(Array.from(v1.output.data)).not.toEqual(Array.from(v2.output.data));

    await expect(host.unload('model-2', 'v1')).resolves.toBe(true);
    await expect(host.unload('model-2', 'v1')).resolves.toBe(false);
    expect(host.list()).toHaveLength(11);
    expect(host.get('model-2', 'v1')).toBeUndefined();
    expect(host.get('model-2', 'v2')?.version).toBe('v2');
    await expect(host.run('model-2', 'v1', input, 1)).rejects.toThrow(
      ModelNotLoadedError,
    );
    await expect(host.run('model-2', 'v2', input, 1)).resolves.toEqual(v2);
  });

  it('loads a model from a file path', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-worker-'));
    const file = path.join(dir, 'mlp.onnx');
    fs.writeFileSync(file, makeMlpModel());
    try {
      const model = await host.load({
        name: 'from-file',
        version: '1',
        source: { path: file },
      });
      expect(model.inputs[0].name).toBe('input');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives batched outputs equal to unbatched ones for 50 concurrent requests', async () => {
    await host.load({
      name: 'mlp',
      version: '1',
      source: { bytes: makeMlpModel() },
      batching: { maxBatchSize: 32, maxQueueDelayMs: 5 },
    });
    const requests = Array.from({ length: 50 }, (_, i) => ({
      rows: (i % 3) + 1,
      input: rowsOf((i % 3) + 1, i),
    }));

    // The same batcher the host uses, around the real session, to see the batch sizes.
    const batchSizes: number[] = [];
    const batcher = new DynamicBatcher(
      (input, rows) => {
        batchSizes.push(rows);
        return host.run('mlp', '1', input, rows);
      },
      { maxBatchSize: 32, maxQueueDelayMs: 5, featureSize: 8 },
    );

    const batched = await Promise.all(
      requests.map(r => batcher.submit(r.input, r.rows)),
    );
    const viaHost = await Promise.all(
      requests.map(r => host.infer('mlp', '1', r.input, r.rows)),
    );

    expect(batchSizes.reduce((a, b) => a + b, 0)).toBe(99);
    expect(batchSizes.length).toBeLessThan(10);
    expect(Math.max(...batchSizes)).toBeLessThanOrEqual(32);

    for (const [i, request] of requests.entries()) {
      const direct = await host.run('mlp', '1', request.input, request.rows);
      expect(batched[i].output.dims).toEqual([request.rows, 4]);
      const got = Array.from(batched[i].output.data);
      const want = Array.from(direct.output.data);
      expect(got).toHaveLength(want.length);
      got.forEach((value, j) =>
        expect(Math.abs(value - want[j])).toBeLessThan(1e-6),
      );
      expect(Array.from(viaHost[i].output.data)).toEqual(got);
    }
    const stats = host.stats();
    expect(stats.queueDepth).toBe(0);
    expect(stats.rowsPerSecond).toBeGreaterThan(0);
    expect(stats.latencyMs.p99).toBeGreaterThanOrEqual(stats.latencyMs.p50!);
  });

  it('rejects a request larger than the model maxBatchSize', async () => {
    await host.load({
      name: 'mlp',
      version: '1',
      source: { bytes: makeMlpModel() },
      batching: { maxBatchSize: 4, maxQueueDelayMs: 1 },
    });

    await expect(host.infer('mlp', '1', rowsOf(5, 0), 5)).rejects.toThrow(
      BatchTooLargeError,
    );
  });
});
