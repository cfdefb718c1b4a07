import { LoggerService } from '@backstage/backend-plugin-api';
import {
  InProcessWorkerConnection,
  ThreadWorkerConnection,
  WorkerLinkEvents,
} from '@gekko/worker';
import os from 'node:os';

/**
 * Where the embedded workers run: `threads`, a worker thread each; `in-process`, on the backend's
 * own event loop.
 */
export type EmbeddedWorkerMode = 'threads' | 'in-process';

/**
 * The embedded workers' mode when `gekko.inference.embedded.mode` is `auto` (the default): on 2
 * cores or fewer, `in-process`, since a worker thread needs a core of its own to pay for its
 * hand-off (a `postMessage` and a structured clone each way cost the event loop more than a batch-1
 * inference), and there it only takes turns on the cores with the event loop, onnxruntime's threads
 * and the callers; with more cores, `threads`, so inference leaves the event loop free to parse,
 * authenticate and answer.
 */
export function defaultEmbeddedMode(
  cores: number = os.availableParallelism(),
): EmbeddedWorkerMode {
  return cores <= 2 ? 'in-process' : 'threads';
}

/**
 * onnxruntime intra-op threads per embedded worker when `gekko.inference.embedded.intraOpThreads`
 * is not set.
 * - `threads`: the cores left once the event loop has one (it parses, authenticates and answers
 *   every request, and is the busiest thread under batch-1 load), shared among the workers, and at
 *   least 1. More threads than cores only make them preempt one another.
 * - `in-process`: all cores but one, at least 1 (1 on 2 cores). onnxruntime runs a session on the
 *   thread that calls it, so runs on the event loop take turns and each may use the cores the event
 *   loop waits on, less one for what else runs (the callers, a load balancer). On 2 cores a second
 *   intra-op thread halved the throughput of two sessions at batch 64 (452k against 813k rows/s),
 *   and did not help batch 1 either.
 */
export function defaultIntraOpThreads(
  workers: number,
  cores: number = os.availableParallelism(),
  mode: EmbeddedWorkerMode = 'threads',
): number {
  if (mode === 'in-process') return Math.max(1, cores - 1);
  return Math.max(1, Math.floor((cores - 1) / Math.max(1, workers)));
}

/** Options of {@link EmbeddedWorkers}. */
export interface EmbeddedWorkersOptions {
  /** Workers to run; 0 turns the embedded transport off. */
  count: number;
  /** Defaults to {@link defaultEmbeddedMode}. */
  mode?: EmbeddedWorkerMode;
  /** The pool they serve. */
  pool: string;
  events: WorkerLinkEvents;
  logger: LoggerService;
  heartbeatIntervalMs?: number;
  /** onnxruntime intra-op threads per worker; defaults to {@link defaultIntraOpThreads}. */
  intraOpThreads?: number;
  modelsDir?: string;
}

/** An embedded worker, in either mode. */
export type EmbeddedWorker = ThreadWorkerConnection | InProcessWorkerConnection;

/**
 * The embedded default transport: inference workers inside the backend process, as worker threads
 * or on its event loop ({@link EmbeddedWorkerMode}), so `npm start` serves models with no other
 * process. A worker that dies is started again (after 1 s, doubling to 30 s while it keeps dying)
 * under the same id, and rejoins through its first heartbeat.
 */
export class EmbeddedWorkers {
  private readonly workers = new Map<string, EmbeddedWorker>();
  private stopped = false;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  /** Where the workers run. */
  readonly mode: EmbeddedWorkerMode;
  /** onnxruntime intra-op threads of each worker. */
  readonly intraOpThreads: number;

  constructor(private readonly options: EmbeddedWorkersOptions) {
    this.mode = options.mode ?? defaultEmbeddedMode();
    this.intraOpThreads =
      options.intraOpThreads ??
      defaultIntraOpThreads(options.count, undefined, this.mode);
  }

  start(): void {
    for (let i = 1; i <= this.options.count; i++) {
      this.spawn(`embedded-${this.options.pool}-${i}`, 1000);
    }
    if (this.options.count > 0) {
      this.options.logger.info(
        `Started ${this.options.count} embedded inference worker(s) for pool ${
          this.options.pool
        } ${
          this.mode === 'threads'
            ? 'as worker threads'
            : 'on the event loop (in-process)'
        }, ${
          this.intraOpThreads
        } onnxruntime intra-op thread(s) each, on ${os.availableParallelism()} core(s)`,
      );
    }
  }

  /** The running workers. */
  list(): EmbeddedWorker[] {
    return [...this.workers.values()];
  }

  /** Whether `id` is an embedded worker that runs now. */
  has(id: string): boolean {
    return this.workers.has(id);
  }

  /** Makes an embedded worker die as a crash would (chaos testing); false when no such worker runs. */
  async crash(id: string): Promise<boolean> {
    const worker = this.workers.get(id);
    if (!worker) return false;
    await worker.crash();
    return true;
  }

  /** Stops every worker after its running batches finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled(this.list().map(t => t.close()));
  }

  private spawn(id: string, backoffMs: number) {
    const startedAt = Date.now();
    const options = {
      id,
      pool: this.options.pool,
      events: this.options.events,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      intraOpThreads: this.intraOpThreads,
      modelsDir: this.options.modelsDir,
      onExit: (code: number) => {
        this.workers.delete(id);
        if (this.stopped) return;
        // A worker that ran a while before dying starts again quickly; one that keeps dying backs off.
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
    };
    this.workers.set(
      id,
      this.mode === 'threads'
        ? ThreadWorkerConnection.start(options)
        : InProcessWorkerConnection.start(options),
    );
  }
}
