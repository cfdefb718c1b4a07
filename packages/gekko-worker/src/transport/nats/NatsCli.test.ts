import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { InferReply, WorkerFailure } from '../../protocol/types';
import { NatsControlPlane } from './NatsControlPlane';
import {
  describeWithNats,
  modelBytes,
  modelRef,
  recorder,
  repoModelsDir,
  TEST_NATS_URL,
  uniquePrefix,
  until,
  windowRows,
} from './__testUtils__/natsTestSupport';

jest.setTimeout(90_000);

const bin = path.resolve(__dirname, '../../../bin/gekko-worker');

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the CLI as a real child process, as an operator would. */
function runWorker(args: string[], env: NodeJS.ProcessEnv = {}): Started {
  const child = spawn(process.execPath, [bin, ...args], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GEKKO_NATS_URL: TEST_NATS_URL,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', chunk => (text += chunk));
  child.stderr!.on('data', chunk => (text += chunk));
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
  }>(resolve => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => text, exited };
}

const one = () => ({
  name: 'nhits-price',
  version: '1',
  rows: 1,
  input: windowRows(1),
});

describeWithNats()('gekko-worker CLI', () => {
  const servers = TEST_NATS_URL!;
  let plane: NatsControlPlane | undefined;
  const children: ChildProcess[] = [];

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
      }
    }
    await plane?.close();
    plane = undefined;
  });

  it('refuses bad flags with exit code 2, naming the flag, and never echoes a secret', async () => {
    const badThreads = runWorker(['--pool', 'p', '--threads', 'many']);
    const token = runWorker(['--pool', 'p', '--token=hunter2-secret']);
    const noPool = runWorker([]);
    children.push(badThreads.child, token.child, noPool.child);

    await expect(badThreads.exited).resolves.toEqual({
      code: 2,
      signal: null,
    });
    expect(badThreads.output()).toContain('--threads');

    await expect(token.exited).resolves.toEqual({ code: 2, signal: null });
    expect(token.output()).toContain('--token');
    expect(token.output()).toContain('GEKKO_NATS_TOKEN');
    expect(token.output()).not.toContain('hunter2');

    await expect(noPool.exited).resolves.toEqual({ code: 2, signal: null });
    expect(noPool.output()).toContain('--pool');
  });

  it('joins the pool, serves the model and says goodbye on SIGTERM', async () => {
    const prefix = uniquePrefix();
    const { heartbeats, gone, events } = recorder();
    plane = await NatsControlPlane.connect({
      servers,
      subjectPrefix: prefix,
      events,
    });
    const worker = runWorker(
      [
        '--pool',
        'cuda-remote',
        '--id',
        `cli-${prefix}`,
        '--models-dir',
        repoModelsDir,
        '--subject-prefix',
        prefix,
        '--heartbeat-ms',
        '200',
        '--threads',
        '1',
      ],
      // The test server does not check tokens; the worker must still never print one.
      { GEKKO_NATS_TOKEN: 'hunter2-secret' },
    );
    children.push(worker.child);

    await until(() => heartbeats.length >= 1, 'the first heartbeat', 60_000);
    expect(heartbeats[0].message.worker).toMatchObject({
      id: `cli-${prefix}`,
      pool: 'cuda-remote',
      transport: 'nats',
      pid: worker.child.pid,
    });
    const connection = heartbeats[0].connection;
    await expect(
      connection.command({ op: 'load', model: modelRef }, 30_000),
    ).resolves.toMatchObject({ provider: 'cpu', alreadyLoaded: false });

    const input = windowRows(2);
    const reply = await connection.infer(
      { name: 'nhits-price', version: '1', rows: 2, input },
      10_000,
    );
    const session = await ort.InferenceSession.create(modelBytes);
    const direct = await session.run({
      window: new ort.Tensor('float32', input, [2, 120]),
    });
    const expected = direct.forecast.data as Float32Array;
    for (let i = 0; i < expected.length; i++) {
      expect(
        Math.abs(reply.outputs.forecast.data[i] - expected[i]),
      ).toBeLessThan(1e-5);
    }
    await session.release();

    worker.child.kill('SIGTERM');
    await expect(worker.exited).resolves.toEqual({ code: 0, signal: null });
    await until(() => gone.length === 1, 'the goodbye');
    expect(gone[0]).toEqual({
      id: `cli-${prefix}`,
      reason: 'worker said goodbye',
    });

    const log = worker.output();
    expect(log).toContain(
      `as worker cli-${prefix} of pool cuda-remote (token;`,
    );
    expect(log).toContain('pool cuda-remote; accelerator cpu');
    expect(log).toContain('loaded nhits-price@1 with provider cpu');
    expect(log).toContain('SIGTERM');
    expect(log).not.toContain('hunter2');
  });

  it('settles every request in flight when the worker is killed, and fails later ones fast with WORKER_LOST', async () => {
    const prefix = uniquePrefix();
    const { heartbeats, events } = recorder();
    plane = await NatsControlPlane.connect({
      servers,
      subjectPrefix: prefix,
      events,
    });
    const worker = runWorker([
      '--pool',
      'cpu-remote',
      '--models-dir',
      repoModelsDir,
      '--subject-prefix',
      prefix,
      '--threads',
      '1',
    ]);
    children.push(worker.child);
    await until(() => heartbeats.length >= 1, 'the first heartbeat', 60_000);
    const connection = heartbeats[0].connection;
    await connection.command({ op: 'load', model: modelRef }, 30_000);

    const timeoutMs = 5_000;
    const settled: Array<PromiseSettledResult<InferReply>> = [];
    let longestMs = 0;
    let killed = false;
    let servedBeforeKill = 0;
    // 16 callers in a closed loop, each stopping at its first failure.
    const callers = Array.from({ length: 16 }, async () => {
      for (;;) {
        const started = Date.now();
        const result = await connection
          .infer(
            {
              name: 'nhits-price',
              version: '1',
              rows: 8,
              input: windowRows(8),
            },
            timeoutMs,
          )
          .then(
            value => ({ status: 'fulfilled' as const, value }),
            reason => ({ status: 'rejected' as const, reason }),
          );
        longestMs = Math.max(longestMs, Date.now() - started);
        settled.push(result);
        if (!killed) servedBeforeKill += 1;
        if (result.status === 'rejected') return;
      }
    });
    await until(() => servedBeforeKill >= 200, 'the worker under load');
    const killedAt = Date.now();
    killed = true;
    worker.child.kill('SIGKILL');
    await Promise.all(callers);
    // None hangs past its timeout; in fact the liveness probe settles them all much sooner.
    expect(longestMs).toBeLessThan(timeoutMs + 1_000);
    expect(Date.now() - killedAt).toBeLessThan(timeoutMs / 2);

    const failures = settled
      .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      .map(r => (r.reason as WorkerFailure).code);
    expect(failures).toHaveLength(16);
    for (const code of failures)
      expect(['WORKER_LOST', 'TIMEOUT']).toContain(code);
    await expect(worker.exited).resolves.toMatchObject({ signal: 'SIGKILL' });

    // The server has dropped the dead worker's subscriptions: no responders, answered at once.
    await new Promise(r => setTimeout(r, 100));
    const started = Date.now();
    await expect(connection.infer(one(), 10_000)).rejects.toMatchObject({
      code: 'WORKER_LOST',
    });
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
