import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  HeartbeatMessage,
  WorkerFailure,
  WorkerLinkEvents,
} from '../protocol/types';
import { InProcessWorkerConnection } from './inProcess/InProcessWorkerConnection';
import { ThreadWorkerConnection } from './thread/ThreadWorkerConnection';

const modelsDir = path.resolve(__dirname, '../../../../models');
const artifact = 'nhits-price/1/model.onnx';
const bytes = fs.readFileSync(path.join(modelsDir, artifact));
const ref = {
  name: 'nhits-price',
  version: '1',
  relativePath: artifact,
  absolutePath: path.join(modelsDir, artifact),
  sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
  sizeBytes: bytes.length,
  batching: { maxBatchSize: 64, maxQueueDelayMs: 1 },
};

function recorder() {
  const heartbeats: HeartbeatMessage[] = [];
  const gone: string[] = [];
  const events: WorkerLinkEvents = {
    heartbeat: (_c, m) => heartbeats.push(m),
    gone: (_id, reason) => gone.push(reason),
  };
  return { heartbeats, gone, events };
}

async function until(check: () => boolean, what: string, ms = 20_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 20));
  }
}

function windowRows(rows: number): Float32Array {
  const input = new Float32Array(rows * 120);
  for (let i = 0; i < input.length; i++) {
    input[i] = 100 + Math.sin(i / 7) + (i % 120) * 0.01;
  }
  return input;
}

// The backend's two embedded transports: the same agent behind a worker thread, or on the event loop.
describe.each([
  ['ThreadWorkerConnection', ThreadWorkerConnection, 'thread'],
  ['InProcessWorkerConnection', InProcessWorkerConnection, 'in-process'],
] as const)('%s', (_name, Connection, transport) => {
  it('runs the shipped model with the same outputs as onnxruntime called directly', async () => {
    const { heartbeats, gone, events } = recorder();
    const worker = Connection.start({
      pool: 'cpu-dr',
      events,
      heartbeatIntervalMs: 100,
    });
    try {
      await until(() => heartbeats.length >= 2, 'two heartbeats');
      expect(heartbeats[0].worker).toMatchObject({
        id: worker.identity.id,
        pool: 'cpu-dr',
        transport,
      });
      expect(heartbeats[1].seq).toBe(heartbeats[0].seq + 1);
      expect(heartbeats[0].heartbeat.acceleratorKind).toBe('cpu');

      const loaded: any = await worker.command(
        { op: 'load', model: ref },
        20_000,
      );
      expect(loaded).toMatchObject({ provider: 'cpu', alreadyLoaded: false });
      expect(
        await worker.command({ op: 'load', model: ref }, 20_000),
      ).toMatchObject({ alreadyLoaded: true });

      const input = windowRows(3);
      const reply = await worker.infer(
        { name: 'nhits-price', version: '1', rows: 3, input },
        10_000,
      );
      expect(reply.provider).toBe('cpu');
      expect(reply.outputs.forecast.dims).toEqual([3, 12]);

      const session = await ort.InferenceSession.create(bytes);
      const direct = await session.run({
        window: new ort.Tensor('float32', input, [3, 120]),
      });
      const expected = direct.forecast.data as Float32Array;
      const got = reply.outputs.forecast.data;
      for (let i = 0; i < expected.length; i++) {
        expect(Math.abs(got[i] - expected[i])).toBeLessThan(1e-5);
      }
      await session.release();

      await until(
        () =>
          heartbeats
            .at(-1)!
            .heartbeat.loadedModels.some(m => m.name === 'nhits-price'),
        'a heartbeat listing the model',
      );
    } finally {
      await worker.close();
    }
    expect(worker.closed).toBe(true);
    expect(gone).toHaveLength(1);
  });

  it('names the problem with bad input, and fails requests in flight when the worker dies', async () => {
    const { heartbeats, gone, events } = recorder();
    const worker = Connection.start({ pool: 'cpu-dr', events });
    await until(() => heartbeats.length >= 1, 'a heartbeat');

    await expect(
      worker.infer(
        { name: 'nhits-price', version: '1', rows: 1, input: windowRows(1) },
        5_000,
      ),
    ).rejects.toMatchObject({ code: 'MODEL_NOT_LOADED' });

    await worker.command({ op: 'load', model: ref }, 20_000);
    await expect(
      worker.infer(
        { name: 'nhits-price', version: '1', rows: 2, input: windowRows(1) },
        5_000,
      ),
    ).rejects.toMatchObject({ code: 'INPUT_SHAPE' });
    await expect(
      worker.infer(
        { name: 'nhits-price', version: '1', rows: 65, input: windowRows(65) },
        5_000,
      ),
    ).rejects.toMatchObject({ code: 'BATCH_TOO_LARGE' });
    await expect(
      worker.command(
        { op: 'load', model: { ...ref, version: '2', sha256: '0'.repeat(64) } },
        5_000,
      ),
    ).rejects.toMatchObject({ code: 'ARTIFACT_UNAVAILABLE' });

    // A second version that holds requests in its batch queue for a while, so some are surely in
    // flight when the worker dies.
    await worker.command(
      {
        op: 'load',
        model: {
          ...ref,
          version: 'slow',
          batching: { maxBatchSize: 64, maxQueueDelayMs: 2000 },
        },
      },
      20_000,
    );
    // A request held longer than its timeout fails as timed out, and the worker lives on.
    await expect(
      worker.infer(
        {
          name: 'nhits-price',
          version: 'slow',
          rows: 1,
          input: windowRows(1),
        },
        200,
      ),
    ).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(worker.closed).toBe(false);
    const inFlight = [
      ...Array.from({ length: 20 }, () =>
        worker.infer(
          {
            name: 'nhits-price',
            version: '1',
            rows: 64,
            input: windowRows(64),
          },
          10_000,
        ),
      ),
      ...Array.from({ length: 10 }, () =>
        worker.infer(
          {
            name: 'nhits-price',
            version: 'slow',
            rows: 1,
            input: windowRows(1),
          },
          10_000,
        ),
      ),
    ];
    // Settle handlers go on before the crash: the crash rejects these at once, while it still waits
    // for the running batch, and a rejection with no handler by then fails the test run.
    const settled = Promise.allSettled(inFlight);
    await worker.crash();
    const results = await settled;
    const lost = results.filter(
      r =>
        r.status === 'rejected' &&
        (r.reason as WorkerFailure).code === 'WORKER_LOST',
    );
    // Every request either finished before the kill or was told the worker is lost: none hangs.
    expect(
      lost.length + results.filter(r => r.status === 'fulfilled').length,
    ).toBe(30);
    expect(lost.length).toBeGreaterThan(0);
    expect(gone).toHaveLength(1);
    await expect(
      worker.infer(
        { name: 'nhits-price', version: '1', rows: 1, input: windowRows(1) },
        5_000,
      ),
    ).rejects.toMatchObject({ code: 'WORKER_LOST' });
  });
});

describe('InProcessWorkerConnection.inferDirect', () => {
  it('answers as infer does; a crash fails what is queued, and later calls with WORKER_LOST', async () => {
    const { heartbeats, gone, events } = recorder();
    const worker = InProcessWorkerConnection.start({
      pool: 'cpu-dr',
      events,
      heartbeatIntervalMs: 100,
    });
    await until(() => heartbeats.length >= 1, 'a heartbeat');
    await worker.command(
      {
        op: 'load',
        model: { ...ref, batching: { ...ref.batching, maxBatchSize: 1 } },
      },
      20_000,
    );
    const request = {
      name: 'nhits-price',
      version: '1',
      rows: 1,
      input: windowRows(1),
    };
    const direct = await worker.inferDirect(request);
    const wrapped = await worker.infer(request, 10_000);
    expect(Object.keys(direct.outputs)).toEqual(Object.keys(wrapped.outputs));
    for (const [name, tensor] of Object.entries(direct.outputs)) {
      expect(tensor.dims).toEqual(wrapped.outputs[name].dims);
      expect(Array.from(tensor.data)).toEqual(
        Array.from(wrapped.outputs[name].data),
      );
    }

    // One batch of one row at a time: the first runs, the rest wait in the batcher when it crashes.
    const inFlight = Array.from({ length: 8 }, () =>
      worker.inferDirect(request).then(
        () => 'answered',
        (error: WorkerFailure) => error.code,
      ),
    );
    await worker.crash();
    const outcomes = await Promise.all(inFlight);
    expect(outcomes).toContain('MODEL_NOT_LOADED');
    expect(
      outcomes.every(o => o === 'answered' || o === 'MODEL_NOT_LOADED'),
    ).toBe(true);
    expect(gone).toEqual(['crashed (chaos test)']);
    await expect(worker.inferDirect(request)).rejects.toMatchObject({
      code: 'WORKER_LOST',
    });
  });
});
