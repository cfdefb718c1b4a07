import { mockServices } from '@backstage/backend-test-utils';
import { HeartbeatMessage, WorkerFailure } from '@gekko/worker';
import {
  defaultEmbeddedMode,
  defaultIntraOpThreads,
  EmbeddedWorkers,
} from './EmbeddedWorkers';

describe('defaultEmbeddedMode', () => {
  it('runs the workers on the event loop on 2 cores or fewer, as threads on more', () => {
    expect(defaultEmbeddedMode(1)).toBe('in-process');
    expect(defaultEmbeddedMode(2)).toBe('in-process');
    expect(defaultEmbeddedMode(3)).toBe('threads');
    expect(defaultEmbeddedMode(16)).toBe('threads');
  });
});

describe('defaultIntraOpThreads', () => {
  it('leaves one core to the event loop and shares the rest among worker threads', () => {
    expect(defaultIntraOpThreads(2, 2)).toBe(1);
    expect(defaultIntraOpThreads(2, 4)).toBe(1);
    expect(defaultIntraOpThreads(2, 8)).toBe(3);
    expect(defaultIntraOpThreads(1, 8)).toBe(7);
    expect(defaultIntraOpThreads(4, 16)).toBe(3);
  });

  it('gives every worker at least one thread, even with more workers than cores', () => {
    expect(defaultIntraOpThreads(2, 1)).toBe(1);
    expect(defaultIntraOpThreads(8, 2)).toBe(1);
    expect(defaultIntraOpThreads(0, 2)).toBe(1);
  });

  it('gives each worker on the event loop all cores but one, as their runs take turns', () => {
    expect(defaultIntraOpThreads(2, 2, 'in-process')).toBe(1);
    expect(defaultIntraOpThreads(2, 1, 'in-process')).toBe(1);
    expect(defaultIntraOpThreads(4, 16, 'in-process')).toBe(15);
  });
});

describe.each(['threads', 'in-process'] as const)(
  'EmbeddedWorkers, %s',
  mode => {
    it('registers its workers, starts a crashed one again under the same id, and stops', async () => {
      const joined: HeartbeatMessage[] = [];
      const gone: Array<{ id: string; reason: string }> = [];
      const workers = new EmbeddedWorkers({
        count: 2,
        pool: 'cpu-dr',
        mode,
        heartbeatIntervalMs: 50,
        logger: mockServices.logger.mock(),
        events: {
          heartbeat: (_connection, message) => joined.push(message),
          gone: (id, reason) => gone.push({ id, reason }),
        },
      });
      expect(workers.mode).toBe(mode);
      const until = async (check: () => boolean, what: string) => {
        const end = Date.now() + 20_000;
        while (!check()) {
          if (Date.now() > end)
            throw new Error(`timed out waiting for ${what}`);
          await new Promise(r => setTimeout(r, 20));
        }
      };
      workers.start();
      try {
        const ids = ['embedded-cpu-dr-1', 'embedded-cpu-dr-2'];
        await until(
          () => ids.every(id => joined.some(m => m.worker.id === id)),
          'both workers to heartbeat',
        );
        expect(
          joined
            .map(m => m.worker.transport)
            .every(t => t === (mode === 'threads' ? 'thread' : 'in-process')),
        ).toBe(true);
        expect(workers.has('embedded-cpu-dr-1')).toBe(true);
        expect(workers.has('embedded-cpu-dr-3')).toBe(false);

        const first = workers.list()[0];
        expect(await workers.crash('embedded-cpu-dr-1')).toBe(true);
        expect(first.closed).toBe(true);
        expect(gone.map(g => g.id)).toEqual(['embedded-cpu-dr-1']);
        await expect(
          first.infer(
            { name: 'm', version: '1', rows: 1, input: new Float32Array(1) },
            1000,
          ),
        ).rejects.toBeInstanceOf(WorkerFailure);
        // Started again after its 1 s back-off, under the same id, as a new worker.
        const crashedAt = new Date().toISOString();
        await until(
          () =>
            joined.some(
              m =>
                m.worker.id === 'embedded-cpu-dr-1' &&
                m.worker.startedAt >= crashedAt,
            ),
          'the crashed worker to start again',
        );
        expect(workers.list()).toHaveLength(2);
        expect(workers.list()).not.toContain(first);
      } finally {
        await workers.stop();
      }
      expect(workers.list()).toHaveLength(0);
      expect(gone.filter(g => g.id === 'embedded-cpu-dr-2')).toHaveLength(1);
      expect(await workers.crash('embedded-cpu-dr-2')).toBe(false);
    });
  },
);
