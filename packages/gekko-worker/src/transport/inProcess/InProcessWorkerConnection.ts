import { toFailure, WorkerAgent } from '../../agent/WorkerAgent';
import {
  InferReply,
  InferRequest,
  WorkerCommand,
  WorkerConnection,
  WorkerFailure,
  WorkerIdentity,
} from '../../protocol/types';
import { ModelHost } from '../../runtime/ModelHost';
import { EmbeddedConnectionOptions, embeddedIdentity } from '../embedded';

/** Options of {@link InProcessWorkerConnection.start}. */
export type InProcessWorkerOptions = EmbeddedConnectionOptions;

interface Pending {
  /** `performance.now()` after which the request times out. */
  until: number;
  timeout: () => WorkerFailure;
  reject: (error: WorkerFailure) => void;
}

/**
 * How often timeouts are checked: one timer per worker rather than one per request, which would cost
 * a batch-1 predict a few percent; a timeout fires up to this late.
 */
const SWEEP_MS = 100;

/**
 * The embedded transport without a thread: the same {@link WorkerAgent} as a worker thread or a
 * remote worker, on the backend's own event loop, reached by a function call.
 *
 * onnxruntime-node runs a session on the thread that calls it (its intra-op threads join in), so a
 * worker thread only pays off when there are cores to spare for a second JavaScript thread: each
 * request to a thread costs the event loop a `postMessage` and a structured clone each way, more
 * than a batch-1 inference of a small model. On a machine of 2 cores or fewer the event loop, the
 * thread and onnxruntime's threads only take the cores from one another; here a request costs a
 * function call, and the model's dynamic batcher still merges the requests that arrive together.
 *
 * It behaves as a thread does towards the control plane: it registers with its first heartbeat,
 * answers with the agent's failures, and a {@link InProcessWorkerConnection.crash} fails every
 * request in flight with `WORKER_LOST` and reports the worker gone.
 */
export class InProcessWorkerConnection implements WorkerConnection {
  private readonly pending = new Set<Pending>();
  private exited = false;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly sweeper: ReturnType<typeof setInterval>;

  private constructor(
    readonly identity: WorkerIdentity,
    private readonly agent: WorkerAgent,
    private readonly options: InProcessWorkerOptions,
  ) {
    const beat = () =>
      agent.heartbeat().then(
        message => {
          if (!this.exited) options.events.heartbeat(this, message);
        },
        () => {},
      );
    // The first heartbeat registers the worker, after its constructor returned (as a thread's does).
    setImmediate(beat);
    this.timer = setInterval(beat, options.heartbeatIntervalMs ?? 1000);
    this.timer.unref?.();
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref?.();
  }

  /** Starts a worker on this event loop; it registers itself with its first heartbeat. */
  static start(options: InProcessWorkerOptions): InProcessWorkerConnection {
    const identity = embeddedIdentity('in-process', options.pool, options.id);
    const agent = new WorkerAgent({
      identity,
      host: new ModelHost({ intraOpThreads: options.intraOpThreads }),
      modelsDir: options.modelsDir,
      trustAbsolutePaths: true,
    });
    return new InProcessWorkerConnection(identity, agent, options);
  }

  /** Whether the worker has stopped. */
  get closed(): boolean {
    return this.exited;
  }

  command(command: WorkerCommand, timeoutMs: number): Promise<unknown> {
    return this.call(() => this.agent.command(command), timeoutMs, command.op);
  }

  infer(request: InferRequest, timeoutMs: number): Promise<InferReply> {
    return this.call(() => this.agent.infer(request), timeoutMs, 'infer');
  }

  /**
   * The agent's own answer, with no timeout and nothing tracked per request: for a caller on this
   * event loop that fails over by itself (the inference gateway). A crash still fails the requests
   * queued in the agent's batchers (`MODEL_NOT_LOADED`, as the models are unloaded); the batch
   * running at that moment finishes on this thread and answers.
   *
   * {@link InProcessWorkerConnection.infer} wraps the same call in a promise of its own, registered
   * for the timeout sweep and the crash. Under load on a busy backend, every such layer between the
   * batcher and the caller kept requests' objects alive past a scavenge: the data plane's scavenges
   * went from about 2 ms to 5–7 ms, each promoting hundreds of KB (see docs/architecture.md).
   */
  inferDirect(request: InferRequest): Promise<InferReply> {
    if (this.exited) {
      return Promise.reject(
        new WorkerFailure(
          'WORKER_LOST',
          `Worker ${this.identity.id} has stopped`,
        ),
      );
    }
    return this.agent.infer(request);
  }

  /** Finishes the running batches, unloads every model and stops. */
  async close(): Promise<void> {
    if (this.exited) return;
    clearInterval(this.timer);
    await this.agent.shutdown().catch(() => {});
    this.end(0, 'stopped');
  }

  /**
   * Makes the worker die as a crash would: it answers nothing more, every request in flight fails at
   * once with `WORKER_LOST`, and its models are unloaded once their running batches return.
   */
  async crash(): Promise<void> {
    if (this.exited) return;
    clearInterval(this.timer);
    this.end(70, 'crashed (chaos test)');
    await this.agent.shutdown().catch(() => {});
  }

  private end(code: number, reason: string) {
    if (this.exited) return;
    this.exited = true;
    clearInterval(this.timer);
    clearInterval(this.sweeper);
    const lost = new WorkerFailure(
      'WORKER_LOST',
      `Worker ${this.identity.id} is gone (${reason})`,
    );
    for (const pending of this.pending) pending.reject(lost);
    this.pending.clear();
    this.options.events.gone(this.identity.id, reason);
    this.options.onExit?.(code);
  }

  private call<T>(
    work: () => Promise<T>,
    timeoutMs: number,
    what: string,
  ): Promise<T> {
    if (this.exited) {
      return Promise.reject(
        new WorkerFailure(
          'WORKER_LOST',
          `Worker ${this.identity.id} has stopped`,
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = {
        until: performance.now() + timeoutMs,
        timeout: () =>
          new WorkerFailure(
            'TIMEOUT',
            `Worker ${this.identity.id} did not answer ${what} within ${timeoutMs} ms`,
          ),
        reject,
      };
      this.pending.add(pending);
      let started: Promise<T>;
      try {
        started = work();
      } catch (error) {
        started = Promise.reject(error);
      }
      started.then(
        value => {
          if (this.pending.delete(pending)) resolve(value);
        },
        error => {
          if (this.pending.delete(pending)) reject(toFailure(error));
        },
      );
    });
  }

  /** Fails the requests past their timeout (checked every {@link SWEEP_MS}). */
  private sweep() {
    const now = performance.now();
    for (const pending of this.pending) {
      if (pending.until > now) continue;
      this.pending.delete(pending);
      pending.reject(pending.timeout());
    }
  }
}
