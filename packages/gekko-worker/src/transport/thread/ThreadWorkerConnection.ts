import { Worker } from 'node:worker_threads';
import {
  InferReply,
  InferRequest,
  WorkerCommand,
  WorkerConnection,
  WorkerErrorCode,
  WorkerFailure,
  WorkerIdentity,
} from '../../protocol/types';
import { EmbeddedConnectionOptions, embeddedIdentity } from '../embedded';
import type { ThreadBatch, ThreadInbound, ThreadOutbound } from './messages';
import type { ThreadWorkerData } from './threadMain';

/** Options of {@link ThreadWorkerConnection.start}. */
export type ThreadWorkerOptions = EmbeddedConnectionOptions;

/** Where the thread entry point lives (`thread.cjs` at the package root). */
export function threadEntryPath(): string {
  return require.resolve('@gekko/worker/thread.cjs');
}

interface Pending {
  resolve: (value: any) => void;
  reject: (error: WorkerFailure) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The embedded transport: a worker running as a worker thread inside the backend process, reached
 * with `postMessage`. Same {@link WorkerAgent} code as a remote worker.
 */
export class ThreadWorkerConnection implements WorkerConnection {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exited = false;
  private readonly exitPromise: Promise<number>;

  private constructor(
    readonly identity: WorkerIdentity,
    private readonly worker: Worker,
    options: ThreadWorkerOptions,
  ) {
    const receive = (message: ThreadOutbound) => {
      if (message.type === 'heartbeat') {
        options.events.heartbeat(this, message.message);
      } else if (message.type === 'reply') {
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id);
        clearTimeout(pending.timer);
        if (message.ok) pending.resolve(message.value);
        else
          pending.reject(
            new WorkerFailure(
              message.error.code as WorkerErrorCode,
              message.error.message,
            ),
          );
      }
    };
    worker.on(
      'message',
      (message: ThreadOutbound | ThreadBatch<ThreadOutbound>) => {
        if (message.type === 'batch') message.messages.forEach(receive);
        else receive(message);
      },
    );
    let lastError: string | undefined;
    worker.on('error', (error: Error) => {
      lastError = error.message;
    });
    this.exitPromise = new Promise(resolve => {
      worker.on('exit', code => {
        this.exited = true;
        const reason = lastError
          ? `thread crashed: ${lastError}`
          : `thread exited with code ${code}`;
        for (const [id, pending] of this.pending) {
          clearTimeout(pending.timer);
          pending.reject(
            new WorkerFailure(
              'WORKER_LOST',
              `Worker ${identity.id} is gone (${reason})`,
            ),
          );
          this.pending.delete(id);
        }
        options.events.gone(identity.id, reason);
        options.onExit?.(code);
        resolve(code);
      });
    });
  }

  /** Starts a worker thread; it registers itself with its first heartbeat. */
  static start(options: ThreadWorkerOptions): ThreadWorkerConnection {
    const identity = embeddedIdentity('thread', options.pool, options.id);
    const workerData: ThreadWorkerData = {
      identity,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1000,
      intraOpThreads: options.intraOpThreads ?? 1,
      modelsDir: options.modelsDir,
    };
    const worker = new Worker(threadEntryPath(), {
      workerData,
      name: `gekko-worker ${identity.id}`,
    });
    return new ThreadWorkerConnection(identity, worker, options);
  }

  /** Whether the thread has ended. */
  get closed(): boolean {
    return this.exited;
  }

  command(command: WorkerCommand, timeoutMs: number): Promise<unknown> {
    return this.send(
      id => ({ type: 'command', id, command }),
      timeoutMs,
      command.op,
    );
  }

  infer(request: InferRequest, timeoutMs: number): Promise<InferReply> {
    return this.send(
      id => ({ type: 'infer', id, request }),
      timeoutMs,
      'infer',
    );
  }

  /**
   * Asks the thread to finish its batches and stop; terminates it if it has not within `graceMs`
   * (a last resort: onnxruntime-node aborts the process when a thread ends inside a native run).
   */
  async close(graceMs = 30_000): Promise<void> {
    if (this.exited) return;
    this.enqueue({ type: 'shutdown' });
    const timer = setTimeout(() => this.worker.terminate(), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }

  /**
   * Makes the thread die as an uncaught error would: it answers nothing more, so every request in
   * flight fails with `WORKER_LOST` (for failover tests and benchmarks). `Worker.terminate()` is not
   * used because onnxruntime-node aborts the whole process when a thread ends inside a native run.
   */
  async crash(): Promise<void> {
    if (this.exited) return;
    this.enqueue({ type: 'crash' });
    await this.exitPromise;
  }

  private outbox: ThreadInbound[] = [];

  /**
   * Queues a message; everything queued in this turn of the event loop leaves in one postMessage.
   * A `postMessage` costs the event loop more than a batch-1 inference costs the thread (a third of
   * the data plane's CPU time under load when each request took its own), so the flush waits for
   * `setImmediate`, right after the poll phase: the requests of every socket read in that phase
   * travel together, at the cost of no timer and no added wait.
   */
  private enqueue(message: ThreadInbound) {
    this.outbox.push(message);
    if (this.outbox.length > 1) return;
    setImmediate(() => {
      const messages = this.outbox;
      this.outbox = [];
      if (this.exited) return;
      this.worker.postMessage(
        messages.length === 1
          ? messages[0]
          : ({ type: 'batch', messages } satisfies ThreadBatch<ThreadInbound>),
      );
    });
  }

  private send<T>(
    build: (id: number) => ThreadInbound,
    timeoutMs: number,
    what: string,
  ): Promise<T> {
    if (this.exited) {
      return Promise.reject(
        new WorkerFailure(
          'WORKER_LOST',
          `Worker ${this.identity.id} has exited`,
        ),
      );
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new WorkerFailure(
            'TIMEOUT',
            `Worker ${this.identity.id} did not answer ${what} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.enqueue(build(id));
    });
  }
}
