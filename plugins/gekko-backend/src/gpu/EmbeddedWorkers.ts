import { LoggerService } from '@backstage/backend-plugin-api';
import { ThreadWorkerConnection, WorkerLinkEvents } from '@gekko/worker';
import os from 'node:os';

/**
 * onnxruntime intra-op threads per embedded worker when `gekko.inference.embedded.intraOpThreads`
 * is not set: the cores left once the event loop has one (it parses, authenticates and answers every
 * request, and is the busiest thread under batch-1 load), shared among the workers, and at least 1.
 * More threads than cores only make them preempt one another: on 2 cores, 2 workers get 1 each.
 */
export function defaultIntraOpThreads(
  workers: number,
  cores: number = os.availableParallelism(),
): number {
  return Math.max(1, Math.floor((cores - 1) / Math.max(1, workers)));
}

/** Options of {@link EmbeddedWorkers}. */
export interface EmbeddedWorkersOptions {
  /** Worker threads to run; 0 turns the embedded transport off. */
  count: number;
  /** The pool they serve. */
  pool: string;
  events: WorkerLinkEvents;
  logger: LoggerService;
  heartbeatIntervalMs?: number;
  /** onnxruntime intra-op threads per worker thread; defaults to {@link defaultIntraOpThreads}. */
  intraOpThreads?: number;
  modelsDir?: string;
}

/**
 * The embedded default transport: inference workers as worker threads of the backend process, so
 * `npm start` serves models with no other process. A thread that dies is started again (after 1 s,
 * doubling to 30 s while it keeps dying) under the same id, and rejoins through its first heartbeat.
 */
export class EmbeddedWorkers {
  private readonly threads = new Map<string, ThreadWorkerConnection>();
  private stopped = false;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly options: EmbeddedWorkersOptions) {}

  start(): void {
    for (let i = 1; i <= this.options.count; i++) {
      this.spawn(`embedded-${this.options.pool}-${i}`, 1000);
    }
    if (this.options.count > 0) {
      this.options.logger.info(
        `Started ${this.options.count} embedded inference worker thread(s) for pool ${this.options.pool}`,
      );
    }
  }

  /** The running threads, by worker id. */
  list(): ThreadWorkerConnection[] {
    return [...this.threads.values()];
  }

  /** Makes an embedded worker die as a crash would (chaos testing); false when no such thread runs. */
  async crash(id: string): Promise<boolean> {
    const thread = this.threads.get(id);
    if (!thread) return false;
    await thread.crash();
    return true;
  }

  /** Stops every thread after its running batches finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled(this.list().map(t => t.close()));
  }

  private spawn(id: string, backoffMs: number) {
    const startedAt = Date.now();
    const thread = ThreadWorkerConnection.start({
      id,
      pool: this.options.pool,
      events: this.options.events,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      intraOpThreads:
        this.options.intraOpThreads ??
        defaultIntraOpThreads(this.options.count),
      modelsDir: this.options.modelsDir,
      onExit: code => {
        this.threads.delete(id);
        if (this.stopped) return;
        // A thread that ran a while before dying starts again quickly; one that keeps dying backs off.
        const delay = Date.now() - startedAt > 60_000 ? 1000 : backoffMs;
        this.options.logger.warn(
          `Embedded worker ${id} exited (code ${code}); starting it again in ${delay} ms`,
        );
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (!this.stopped) this.spawn(id, Math.min(delay * 2, 30_000));
        }, delay);
        this.timers.add(timer);
      },
    });
    this.threads.set(id, thread);
  }
}
