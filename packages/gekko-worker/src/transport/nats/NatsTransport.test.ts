import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import * as ort from 'onnxruntime-node';
import { connect, headers, NatsConnection } from '@nats-io/transport-node';
import { NatsControlPlane, NatsHeartbeatRefusal } from './NatsControlPlane';
import { NatsWorker, startNatsWorker } from './NatsWorkerServer';
import {
  describeWithNats,
  modelBytes,
  modelRef,
  recorder,
  repoArtifactReader,
  repoModelsDir,
  TEST_NATS_URL,
  uniquePrefix,
  until,
  windowRows,
} from './__testUtils__/natsTestSupport';

jest.setTimeout(60_000);

const one = () => ({
  name: 'nhits-price',
  version: '1',
  rows: 1,
  input: windowRows(1),
});

describeWithNats(true)('NATS transport', () => {
  const servers = TEST_NATS_URL!;
  let prefix: string;
  let plane: NatsControlPlane | undefined;
  let worker: NatsWorker | undefined;
  let raw: NatsConnection | undefined;

  beforeEach(() => {
    prefix = uniquePrefix();
  });

  /** Connects a control plane, and starts a worker of pool cpu-remote that heartbeats every 100 ms. */
  const startPlaneAndWorker = async (
    options: Omit<
      Parameters<typeof NatsControlPlane.connect>[0],
      'servers' | 'subjectPrefix'
    >,
  ) => {
    const connected = await NatsControlPlane.connect({
      servers,
      subjectPrefix: prefix,
      ...options,
    });
    plane = connected;
    const started = await startNatsWorker({
      servers,
      pool: 'cpu-remote',
      subjectPrefix: prefix,
      heartbeatIntervalMs: 100,
      intraOpThreads: 1,
    });
    return { plane: connected, worker: started };
  };

  afterEach(async () => {
    await worker?.close(1000);
    await plane?.close();
    await raw?.close();
    worker = plane = raw = undefined;
  });

  it('registers a worker with no models folder, loads the model through the artifact service and answers like onnxruntime in process', async () => {
    const { heartbeats, events } = recorder();
    const reader = repoArtifactReader();
    ({ plane, worker } = await startPlaneAndWorker({
      events,
      readArtifact: reader.read,
    }));
    const id = worker.identity.id;
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);

    await until(() => heartbeats.length >= 2, 'two heartbeats');
    expect(heartbeats[0].message.worker).toMatchObject({
      id,
      pool: 'cpu-remote',
      transport: 'nats',
      pid: process.pid,
    });
    expect(heartbeats[1].message.seq).toBe(heartbeats[0].message.seq + 1);
    expect(heartbeats[0].message.heartbeat.acceleratorKind).toBe('cpu');
    // One link per worker run: the GPU manager keys its registry on it.
    const connection = heartbeats[0].connection;
    expect(heartbeats[1].connection).toBe(connection);
    expect(plane.connection(id)).toBe(connection);
    expect(connection.identity).toMatchObject({ id, transport: 'nats' });

    const loaded = await connection.command(
      { op: 'load', model: modelRef },
      30_000,
    );
    expect(loaded).toMatchObject({
      name: 'nhits-price',
      provider: 'cpu',
      alreadyLoaded: false,
    });
    expect(reader.reads).toBeGreaterThanOrEqual(1);
    await expect(
      connection.command({ op: 'load', model: modelRef }, 30_000),
    ).resolves.toMatchObject({ alreadyLoaded: true });

    const input = windowRows(3);
    const reply = await connection.infer(
      { name: 'nhits-price', version: '1', rows: 3, input },
      10_000,
    );
    expect(reply.provider).toBe('cpu');
    expect(reply.batchRows).toBeGreaterThanOrEqual(3);
    expect(reply.outputs.forecast.dims).toEqual([3, 12]);
    expect(reply.outputs.forecast.data).toBeInstanceOf(Float32Array);

    const session = await ort.InferenceSession.create(modelBytes);
    const direct = await session.run({
      window: new ort.Tensor('float32', input, [3, 120]),
    });
    const expected = direct.forecast.data as Float32Array;
    const got = reply.outputs.forecast.data;
    expect(got).toHaveLength(expected.length);
    for (let i = 0; i < expected.length; i++) {
      expect(Math.abs(got[i] - expected[i])).toBeLessThan(1e-5);
    }
    await session.release();

    await until(
      () =>
        heartbeats
          .at(-1)!
          .message.heartbeat.loadedModels.some(m => m.name === 'nhits-price'),
      'a heartbeat listing the model',
    );
    await expect(
      connection.command({ op: 'describe' }, 5_000),
    ).resolves.toMatchObject({
      models: [{ name: 'nhits-price', version: '1', provider: 'cpu' }],
    });
  });

  it('sends the requests of one event-loop turn to the worker in one message, each with its own answer or error', async () => {
    const { heartbeats, events } = recorder();
    ({ plane, worker } = await startPlaneAndWorker({
      events,
      readArtifact: repoArtifactReader().read,
    }));
    const id = worker.identity.id;
    await until(() => heartbeats.length >= 1, 'a heartbeat');
    expect(heartbeats[0].message.accepts).toEqual(['infer-batch']);
    const connection = heartbeats[0].connection;
    await connection.command({ op: 'load', model: modelRef }, 30_000);

    // A second subscriber on the worker's subject sees every message sent to it.
    raw = await connect({ servers });
    const sent: Array<string | undefined> = [];
    raw.subscribe(`${prefix}.worker.cpu-remote.${id}.infer`, {
      callback: (_, msg) => {
        sent.push(msg.headers?.get('gekko-batch') || undefined);
      },
    });
    await raw.flush();

    const inputs = [1, 2, 3, 2, 1].map(rows => windowRows(rows));
    inputs[3] = inputs[3].map((v, i) => v + i / 100);
    const calls = inputs.map(input =>
      connection.infer(
        {
          name: 'nhits-price',
          version: '1',
          rows: input.length / 120,
          input,
        },
        10_000,
      ),
    );
    const wrongRows = connection.infer(
      { name: 'nhits-price', version: '1', rows: 2, input: windowRows(1) },
      10_000,
    );
    const unknown = connection.infer(
      { ...one(), name: 'no-such-model' },
      10_000,
    );
    const replies = await Promise.all(calls);
    await expect(wrongRows).rejects.toMatchObject({ code: 'INPUT_SHAPE' });
    await expect(unknown).rejects.toMatchObject({ code: 'MODEL_NOT_LOADED' });
    await until(() => sent.length >= 1, 'the spy to see the message');
    expect(sent).toEqual(['7']);

    // Each answer is its own request's, as onnxruntime in process computes it.
    const session = await ort.InferenceSession.create(modelBytes);
    for (const [i, input] of inputs.entries()) {
      const rows = input.length / 120;
      const direct = await session.run({
        window: new ort.Tensor('float32', input, [rows, 120]),
      });
      const expected = direct.forecast.data as Float32Array;
      const got = replies[i].outputs.forecast;
      expect(got.dims).toEqual([rows, 12]);
      expect(got.data).toHaveLength(expected.length);
      for (let j = 0; j < expected.length; j++) {
        expect(Math.abs(got.data[j] - expected[j])).toBeLessThan(1e-5);
      }
    }
    await session.release();
    // They met in the worker's batcher: one run for all of them.
    expect(replies.every(r => r.batchRows === 9)).toBe(true);

    // A lone request goes alone, in the single-request format.
    await connection.infer(one(), 10_000);
    await until(() => sent.length >= 2, 'the spy to see the message');
    expect(sent[1]).toBeUndefined();
  });

  it('reports the protocol error codes and survives malformed messages', async () => {
    const { heartbeats, events } = recorder();
    const reader = repoArtifactReader();
    const refusals: NatsHeartbeatRefusal[] = [];
    const warnings: string[] = [];
    ({ plane, worker } = await startPlaneAndWorker({
      events,
      readArtifact: reader.read,
      onRefusal: refusal => refusals.push(refusal),
      logger: { info: () => {}, warn: line => warnings.push(line) },
    }));
    const id = worker.identity.id;
    await until(() => heartbeats.length >= 1, 'a heartbeat');
    const connection = heartbeats[0].connection;

    await expect(connection.infer(one(), 5_000)).rejects.toMatchObject({
      code: 'MODEL_NOT_LOADED',
    });
    await expect(
      connection.command(
        {
          op: 'load',
          model: { ...modelRef, version: '2', sha256: 'ab'.repeat(32) },
        },
        10_000,
      ),
    ).rejects.toMatchObject({ code: 'ARTIFACT_UNAVAILABLE' });
    await connection.command({ op: 'load', model: modelRef }, 30_000);
    await expect(
      connection.infer(
        { name: 'nhits-price', version: '1', rows: 2, input: windowRows(1) },
        5_000,
      ),
    ).rejects.toMatchObject({ code: 'INPUT_SHAPE' });
    await expect(
      connection.infer(
        { name: 'nhits-price', version: '1', rows: 65, input: windowRows(65) },
        5_000,
      ),
    ).rejects.toMatchObject({ code: 'BATCH_TOO_LARGE' });
    await expect(
      connection.infer({ ...one(), name: 'no-such-model' }, 5_000),
    ).rejects.toMatchObject({ code: 'MODEL_NOT_LOADED' });
    await expect(
      connection.infer({ ...one(), deadline: Date.now() - 1000 }, 5_000),
    ).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    await expect(
      connection.command({ op: 'reboot' } as any, 5_000),
    ).rejects.toMatchObject({ code: 'BAD_COMMAND' });

    // Raw messages no well-behaved control plane sends.
    raw = await connect({ servers });
    const errorOf = async (
      subject: string,
      payload: Uint8Array | string,
      h?: Record<string, string>,
    ) => {
      const hdrs = headers();
      for (const [k, v] of Object.entries(h ?? {})) hdrs.set(k, v);
      const reply = await raw!.request(subject, payload, {
        timeout: 5_000,
        headers: h ? hdrs : undefined,
      });
      if (subject.endsWith('.rpc')) return reply.json<any>().error?.code;
      return JSON.parse(reply.headers?.get('gekko-error') ?? '{}').code;
    };
    const infer = `${prefix}.worker.cpu-remote.${id}.infer`;
    const good = { 'gekko-model': 'nhits-price', 'gekko-version': '1' };
    await expect(errorOf(infer, new Uint8Array(480))).resolves.toBe(
      'BAD_COMMAND',
    );
    await expect(
      errorOf(infer, new Uint8Array(480), { ...good, 'gekko-rows': 'abc' }),
    ).resolves.toBe('INPUT_SHAPE');
    await expect(
      errorOf(infer, new Uint8Array(480), { ...good, 'gekko-rows': '0' }),
    ).resolves.toBe('INPUT_SHAPE');
    await expect(
      errorOf(infer, new Uint8Array(5), { ...good, 'gekko-rows': '1' }),
    ).resolves.toBe('INPUT_SHAPE');
    await expect(
      errorOf(infer, new Uint8Array(400), { ...good, 'gekko-rows': '1' }),
    ).resolves.toBe('INPUT_SHAPE');
    await expect(
      errorOf(infer, new Uint8Array(480), {
        ...good,
        'gekko-rows': '1',
        'gekko-deadline': 'soon',
      }),
    ).resolves.toBe('BAD_COMMAND');
    await expect(
      errorOf(infer, new Uint8Array(960), {
        'gekko-batch': '2',
        'gekko-items': '[{"model":"nhits-price"}]',
      }),
    ).resolves.toBe('BAD_COMMAND');
    await expect(
      errorOf(`${prefix}.worker.cpu-remote.${id}.rpc`, 'not json'),
    ).resolves.toBe('BAD_COMMAND');
    await expect(
      errorOf(`${prefix}.artifacts.get`, JSON.stringify({ sha256: 'x' })),
    ).resolves.toBe('ARTIFACT_UNAVAILABLE');

    // Garbage on the heartbeat subjects registers nothing; neither does a heartbeat of the old
    // subject layout (no pool), nor one whose body claims another worker or pool than its subject.
    raw.publish(`${prefix}.heartbeat.cpu-remote.intruder`, 'not json');
    raw.publish(
      `${prefix}.heartbeat.cpu-remote.intruder`,
      JSON.stringify({ worker: {} }),
    );
    const stolen = JSON.stringify({ ...heartbeats[0].message });
    raw.publish(`${prefix}.heartbeat.${id}`, stolen);
    raw.publish(`${prefix}.heartbeat.cpu-remote.intruder`, stolen);
    raw.publish(`${prefix}.heartbeat.cpu-remote.intruder`, stolen);
    raw.publish(`${prefix}.heartbeat.other-pool.${id}`, stolen);
    await raw.flush();
    const before = heartbeats.length;
    await until(() => heartbeats.length > before + 1, 'more heartbeats');
    await until(() => refusals.length === 3, 'three refusals');
    expect(plane.connection('intruder')).toBeUndefined();
    expect(heartbeats.every(h => h.message.worker.id === id)).toBe(true);
    expect(heartbeats.every(h => h.message.worker.pool === 'cpu-remote')).toBe(
      true,
    );
    // Each refusing subject is reported once; repeats are only counted.
    expect(refusals).toEqual([
      expect.objectContaining({
        subject: `${prefix}.heartbeat.cpu-remote.intruder`,
        subjectPool: 'cpu-remote',
        subjectId: 'intruder',
        claimedPool: 'cpu-remote',
        claimedId: id,
        report: true,
        unreported: 0,
      }),
      expect.objectContaining({ report: false, unreported: 1 }),
      expect.objectContaining({
        subjectPool: 'other-pool',
        claimedPool: 'cpu-remote',
        reason: `claims pool cpu-remote on the subject of pool other-pool`,
        report: true,
      }),
    ]);
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/NATS subject layout 1/),
        expect.stringMatching(/^Refusing heartbeats on .*\.intruder/),
        expect.stringMatching(/^Ignoring a malformed heartbeat/),
      ]),
    );

    // The worker still serves.
    await expect(connection.infer(one(), 5_000)).resolves.toMatchObject({
      provider: 'cpu',
    });
  });

  it('maps silence to TIMEOUT and a missing worker to WORKER_LOST', async () => {
    const { heartbeats, events } = recorder();
    plane = await NatsControlPlane.connect({
      servers,
      subjectPrefix: prefix,
      events,
    });
    raw = await connect({ servers });
    // A "worker" that heartbeats and takes requests but never answers them.
    const batchHeaders: Array<string | undefined> = [];
    raw.subscribe(`${prefix}.worker.p.silent.infer`, {
      callback: (_, msg) => {
        batchHeaders.push(msg.headers?.get('gekko-batch') || undefined);
      },
    });
    const message = {
      worker: {
        id: 'silent',
        pool: 'p',
        transport: 'nats',
        host: 'h',
        pid: 1,
        startedAt: new Date().toISOString(),
      },
      seq: 1,
      heartbeat: {
        timestamp: new Date().toISOString(),
        acceleratorKind: 'cpu',
        devices: [],
        loadedModels: [],
        queueDepth: 0,
        requestsPerSecond: 0,
        rowsPerSecond: 0,
        latencyMs: {},
      },
    };
    raw.publish(`${prefix}.heartbeat.p.silent`, JSON.stringify(message));
    await until(() => heartbeats.length === 1, 'the heartbeat');
    const silent = heartbeats[0].connection;

    let started = Date.now();
    await expect(silent.infer(one(), 300)).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    // Its heartbeat does not say it takes batch messages: requests go one per message.
    await Promise.allSettled([
      silent.infer(one(), 50),
      silent.infer(one(), 50),
    ]);
    expect(batchHeaders).toEqual([undefined, undefined, undefined]);

    // One that says it does gets one message; each request fails when its own timeout runs out.
    raw.subscribe(`${prefix}.worker.p.batching.infer`, {
      callback: (_, msg) => {
        batchHeaders.push(msg.headers?.get('gekko-batch') || undefined);
      },
    });
    raw.publish(
      `${prefix}.heartbeat.p.batching`,
      JSON.stringify({
        ...message,
        worker: { ...message.worker, id: 'batching' },
        accepts: ['infer-batch'],
      }),
    );
    await until(() => heartbeats.length === 2, 'the batching heartbeat');
    const batching = heartbeats[1].connection;
    const settled: string[] = [];
    const soon = batching.infer(one(), 100).catch(e => {
      settled.push('soon');
      throw e;
    });
    const later = batching.infer(one(), 400).catch(e => {
      settled.push('later');
      throw e;
    });
    await expect(soon).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringContaining('within 100 ms'),
    });
    await expect(later).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringContaining('within 400 ms'),
    });
    expect(settled).toEqual(['soon', 'later']);
    expect(batchHeaders.slice(3)).toEqual(['2']);

    // Its command subject has no subscriber: NATS answers "no responders" at once.
    started = Date.now();
    await expect(
      silent.command({ op: 'describe' }, 10_000),
    ).rejects.toMatchObject({ code: 'WORKER_LOST' });
    expect(Date.now() - started).toBeLessThan(1_000);

    // A restart under the same id is a new link; the old one is closed.
    raw.publish(
      `${prefix}.heartbeat.p.silent`,
      JSON.stringify({
        ...message,
        worker: { ...message.worker, pid: 2 },
      }),
    );
    await until(() => heartbeats.length === 3, 'the second heartbeat');
    expect(heartbeats[2].connection).not.toBe(silent);
    await expect(silent.infer(one(), 1_000)).rejects.toMatchObject({
      code: 'WORKER_LOST',
    });
  });

  it('says goodbye on close after finishing the requests it had taken', async () => {
    const { heartbeats, gone, events } = recorder();
    ({ plane, worker } = await startPlaneAndWorker({
      events,
      readArtifact: repoArtifactReader().read,
    }));
    await until(() => heartbeats.length >= 1, 'a heartbeat');
    const connection = heartbeats[0].connection;
    await connection.command({ op: 'load', model: modelRef }, 30_000);

    // Slow the model down, so that requests are still running when the worker is told to stop.
    const agent = worker.agent;
    const infer = agent.infer.bind(agent);
    jest.spyOn(agent, 'infer').mockImplementation(async request => {
      await new Promise(r => setTimeout(r, 300));
      return infer(request);
    });
    const requests = Array.from({ length: 20 }, () =>
      connection.infer(
        { name: 'nhits-price', version: '1', rows: 64, input: windowRows(64) },
        10_000,
      ),
    );
    const running = worker;
    await until(() => running.inFlight === 20, 'requests on the worker');
    await running.close();
    const results = await Promise.allSettled(requests);
    const fulfilled = results.filter(r => r.status === 'fulfilled');
    expect(fulfilled).toHaveLength(20);

    expect(gone).toEqual([
      { id: running.identity.id, reason: 'worker said goodbye' },
    ]);
    expect(plane.connection(running.identity.id)).toBeUndefined();
    await expect(connection.infer(one(), 5_000)).rejects.toMatchObject({
      code: 'WORKER_LOST',
    });
    await expect(running.closed).resolves.toBeUndefined();
  });

  const natsServerBin = [
    process.env.GEKKO_TEST_NATS_SERVER_BIN,
    '/usr/sbin/nats-server',
    '/usr/bin/nats-server',
    '/usr/local/bin/nats-server',
  ].find(file => file && fs.existsSync(file));

  const describeWithNatsServer = natsServerBin ? describe : describe.skip;
  describeWithNatsServer('with a private nats-server', () => {
    it('keeps heartbeating and serving after the NATS server restarts', async () => {
      // A private server on a free port: restarting the shared one would disturb other tests.
      const port = await new Promise<number>(resolve => {
        const probe = net.createServer().listen(0, '127.0.0.1', () => {
          const { port: free } = probe.address() as net.AddressInfo;
          probe.close(() => resolve(free));
        });
      });
      const startServer = () =>
        spawn(natsServerBin!, ['-a', '127.0.0.1', '-p', String(port)], {
          stdio: 'ignore',
        });
      const reachable = async () => {
        const end = Date.now() + 10_000;
        for (;;) {
          try {
            const nc = await connect({
              servers: `nats://127.0.0.1:${port}`,
              reconnect: false,
            });
            await nc.close();
            return;
          } catch (error) {
            if (Date.now() > end) throw error;
            await new Promise(r => setTimeout(r, 50));
          }
        }
      };
      let server = startServer();
      try {
        await reachable();
        const privateUrl = `nats://127.0.0.1:${port}`;
        const { heartbeats, events } = recorder();
        plane = await NatsControlPlane.connect({
          servers: privateUrl,
          subjectPrefix: prefix,
          events,
        });
        const lines: string[] = [];
        worker = await startNatsWorker({
          servers: privateUrl,
          pool: 'cpu-remote',
          subjectPrefix: prefix,
          heartbeatIntervalMs: 100,
          intraOpThreads: 1,
          modelsDir: repoModelsDir,
          logger: line => lines.push(line),
        });
        await until(() => heartbeats.length >= 1, 'a heartbeat');
        const connection = heartbeats[0].connection;
        await connection.command({ op: 'load', model: modelRef }, 30_000);

        server.kill('SIGKILL');
        await new Promise(r => server.once('exit', r));
        await until(
          () => lines.some(l => l.startsWith('disconnected')),
          'the worker to notice',
        );
        const before = heartbeats.length;
        server = startServer();
        await until(
          () => heartbeats.length >= before + 2,
          'heartbeats after the restart',
        );
        expect(lines.some(l => l.startsWith('reconnected'))).toBe(true);
        expect(heartbeats.at(-1)!.connection).toBe(connection);
        expect(heartbeats.at(-1)!.message.seq).toBeGreaterThan(
          heartbeats[before - 1].message.seq,
        );
        await expect(connection.infer(one(), 5_000)).resolves.toMatchObject({
          provider: 'cpu',
        });
      } finally {
        await worker?.close(1000);
        await plane?.close();
        worker = plane = undefined;
        server.kill('SIGKILL');
      }
    });
  });
});
