import { mockServices } from '@backstage/backend-test-utils';
import type {
  HeartbeatMessage,
  WorkerConnection,
  WorkerHeartbeat,
  WorkerIdentity,
} from '@gekko/worker';
import { GpuManager, ManagedWorker } from './GpuManager';

const GiB = 1024 ** 3;

function identity(id: string, pool: string, host?: string): WorkerIdentity {
  return {
    id,
    pool,
    transport: 'nats',
    host: host ?? `${id}.example`,
    pid: 1,
    startedAt: '2026-11-25T00:00:00.000Z',
  };
}

function link(id: string, pool: string, host?: string): WorkerConnection {
  return {
    identity: identity(id, pool, host),
    command: async () => ({}),
    infer: async () => {
      throw new Error('not used');
    },
    close: async () => {},
  };
}

function beat(
  connection: WorkerConnection,
  seq: number,
  heartbeat: Partial<WorkerHeartbeat> = {},
): HeartbeatMessage {
  return {
    worker: connection.identity,
    seq,
    heartbeat: {
      timestamp: new Date().toISOString(),
      acceleratorKind: 'cuda',
      devices: [],
      loadedModels: [{ name: 'm', version: '1', provider: 'cuda' }],
      queueDepth: 0,
      requestsPerSecond: 0,
      rowsPerSecond: 0,
      latencyMs: {},
      memoryUsedBytes: 10 * GiB,
      memoryTotalBytes: 80 * GiB,
      ...heartbeat,
    },
  };
}

describe('GpuManager', () => {
  let now = 0;
  const make = () =>
    new GpuManager({
      logger: mockServices.logger.mock(),
      heartbeatIntervalMs: 1000,
      now: () => now,
    });

  beforeEach(() => {
    now = 1_000_000;
  });

  it('allocates by model affinity, then outstanding work, then free memory, in pool order', () => {
    const manager = make();
    const a = link('a', 'cuda-primary');
    const b = link('b', 'cuda-primary');
    const c = link('c', 'cuda-primary');
    const dr = link('dr', 'cpu-dr');
    manager.heartbeat(a, beat(a, 1));
    manager.heartbeat(b, beat(b, 1, { memoryUsedBytes: 70 * GiB }));
    manager.heartbeat(c, beat(c, 1, { loadedModels: [] }));
    manager.heartbeat(dr, beat(dr, 1, { acceleratorKind: 'cpu' }));
    const pick = (exclude?: string[]) =>
      manager.pick('m', '1', ['cuda-primary', 'cpu-dr'], new Set(exclude))?.id;

    // c lacks the model; a and b are idle, a has more free memory.
    expect(pick()).toBe('a');
    manager.get('a')!.outstanding = 2;
    expect(pick()).toBe('b');
    // Queue depth from the heartbeat counts as outstanding work too.
    manager.heartbeat(b, beat(b, 2, { queueDepth: 5 }));
    expect(pick()).toBe('a');
    // The home pool first; the next pool only when no worker there has the model.
    expect(pick(['a', 'b'])).toBe('dr');
    expect(pick(['a', 'b', 'dr'])).toBeUndefined();
    expect(manager.pick('m', '2', ['cuda-primary'])).toBeUndefined();

    // A load this backend saw finish counts at once, and an older heartbeat does not undo it.
    manager.markLoaded('c', 'm', '2', 'cuda');
    expect(manager.pick('m', '2', ['cuda-primary'])?.id).toBe('c');
    manager.heartbeat(c, beat(c, 2, { loadedModels: [] }));
    expect(manager.pick('m', '2', ['cuda-primary'])?.id).toBe('c');
    now += 2500;
    manager.heartbeat(c, beat(c, 3, { loadedModels: [] }));
    expect(manager.pick('m', '2', ['cuda-primary'])).toBeUndefined();
  });

  it('marks a silent worker suspect, drops it after 3 missed heartbeats, and fails its requests over', async () => {
    const manager = make();
    const left: string[] = [];
    manager.addListener({
      left: (w, reason) => left.push(`${w.id}: ${reason}`),
    });
    const a = link('a', 'p');
    const b = link('b', 'p');
    manager.heartbeat(a, beat(a, 1));
    manager.heartbeat(b, beat(b, 1));
    const worker = manager.get('a')!;
    // One request answered before the worker is dropped, one still in flight when it is.
    const answered = worker.whileAlive(Promise.resolve('answer'));
    const inFlight = worker.whileAlive(new Promise(() => {}));
    await expect(answered).resolves.toBe('answer');

    now += 1600;
    manager.heartbeat(b, beat(b, 2));
    manager.sweep();
    expect(manager.get('a')!.state).toBe('suspect');
    // A suspect worker is only chosen when nothing else is.
    manager.get('b')!.outstanding = 50;
    expect(manager.pick('m', '1', ['p'])?.id).toBe('b');

    now += 1500; // 3.1 s without a heartbeat
    manager.heartbeat(b, beat(b, 3));
    manager.sweep();
    expect(manager.get('a')).toBeUndefined();
    expect(left).toEqual([expect.stringMatching(/^a: missed 3 heartbeats/)]);
    await expect(inFlight).rejects.toMatchObject({ code: 'WORKER_LOST' });
    // What is sent to the dropped worker afterwards fails at once, as lost, not as its own error.
    await expect(
      worker.whileAlive(Promise.reject(new Error('its own'))),
    ).rejects.toMatchObject({ code: 'WORKER_LOST' });
    expect(manager.statuses().map(w => w.id)).toEqual(['b']);

    // It comes back with its next heartbeat, as a new registration.
    manager.heartbeat(a, beat(a, 4));
    expect(manager.get('a')!.state).toBe('ready');
  });

  it('ignores repeated heartbeats and sums live capacity per pool, each physical device once', () => {
    const manager = make();
    const h100 = (uuid: string, used: number, util: number) => ({
      uuid,
      name: 'NVIDIA H100 80GB HBM3',
      utilizationPercent: util,
      memoryUsedBytes: used * GiB,
      memoryTotalBytes: 80 * GiB,
    });
    const a = link('a', 'p', 'node-1');
    // A second worker process on the same host sees the same two GPUs.
    const a2 = link('a2', 'p', 'node-1');
    const b = link('b', 'p', 'node-2');
    const devices = [h100('GPU-1', 10, 40), h100('GPU-2', 30, 60)];
    manager.heartbeat(a, beat(a, 5, { devices }));
    manager.heartbeat(a, beat(a, 4, { devices: [h100('GPU-1', 79, 99)] }));
    manager.heartbeat(a2, beat(a2, 1, { devices }));
    manager.heartbeat(
      b,
      beat(b, 1, {
        utilizationPercent: 20,
        memoryUsedBytes: 5 * GiB,
        memoryTotalBytes: 24 * GiB,
        requestsPerSecond: 10,
      }),
    );
    expect(manager.capacity()).toEqual([
      {
        pool: 'p',
        workers: 3,
        readyWorkers: 3,
        devices: 3,
        memoryUsedBytes: 45 * GiB,
        memoryTotalBytes: 184 * GiB,
        utilizationPercent: 40,
        requestsPerSecond: 10,
        queueDepth: 0,
      },
    ]);
  });

  it('picks among 1,000 workers without scanning those that lack the model', () => {
    const manager = make();
    const workers: ManagedWorker[] = [];
    for (let i = 0; i < 1000; i++) {
      const c = link(`w${i}`, `pool-${i % 10}`);
      manager.heartbeat(
        c,
        beat(c, 1, {
          loadedModels: [
            { name: `model-${i % 20}`, version: '1', provider: 'cuda' },
          ],
        }),
      );
      workers.push(manager.get(`w${i}`)!);
    }
    workers.forEach((w, i) => (w.outstanding = (i * 7919) % 13));
    const picked = manager.pick('model-3', '1', ['pool-3'])!;
    const eligible = workers.filter(
      w => w.pool === 'pool-3' && w.models.has('model-3@1'),
    );
    expect(eligible).toHaveLength(50);
    expect(picked.outstanding).toBe(
      Math.min(...eligible.map(w => w.outstanding)),
    );
  });
});
