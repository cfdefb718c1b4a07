import {
  ClosedConnectionError,
  DrainingConnectionError,
  InvalidArgumentError,
  Msg,
  MsgHdrs,
  NatsConnection,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';
import {
  InferReply,
  InferRequest,
  WorkerCommand,
  WorkerConnection,
  WorkerFailure,
  WorkerIdentity,
} from '../../protocol/types';
import { NatsSubjects } from './subjects';
import {
  decodeInferBatchReply,
  decodeInferReply,
  encodeInferBatch,
  encodeInferRequest,
  failureFromWire,
  MAX_BATCH_REQUESTS,
} from './wire';

/** Input bytes one batch message carries at most; a larger request goes alone. */
const MAX_BATCH_BYTES = 256 * 1024;

/** An inference request waiting for this turn of the event loop to end, to go with the others. */
interface Queued {
  request: InferRequest;
  timeoutMs: number;
  resolve: (reply: InferReply) => void;
  reject: (failure: WorkerFailure) => void;
}

/** Options of a {@link NatsWorkerConnection}. */
export interface NatsWorkerConnectionOptions {
  /** Called once when the link is closed. */
  onClose?: (connection: NatsWorkerConnection) => void;
  /**
   * When a request has waited this long, ask NATS whether the worker still listens; if not, fail
   * every request waiting on it with `WORKER_LOST` instead of letting each run into its timeout.
   * 500 ms by default; 0 turns the probe off.
   */
  probeAfterMs?: number;
  /**
   * Whether the worker takes several inference requests in one message (its heartbeat lists
   * `infer-batch`). Then the requests of one turn of the event loop travel together: one message
   * each way instead of one per request.
   */
  batches?: boolean;
}

/**
 * The control plane's link to one remote worker over NATS request-reply. Made by
 * {@link NatsControlPlane} on the worker's first heartbeat.
 *
 * Failures: the worker's own error codes; `TIMEOUT` when no reply came in time; `WORKER_LOST` when
 * NATS reports no responders (the worker's subscription is gone: the process died, or it is
 * reconnecting) or this side's connection is closed. A "no responders" also fails the other
 * requests still waiting on this worker with `WORKER_LOST`, since they will not be answered
 * either, unless the worker said goodbye and is finishing them. A worker killed with requests in
 * flight is noticed by a probe (see {@link NatsWorkerConnectionOptions.probeAfterMs}).
 */
export class NatsWorkerConnection implements WorkerConnection {
  /** Requests waiting for their reply: how to fail each, and when it was sent. */
  private readonly waiting = new Map<
    (failure: WorkerFailure) => void,
    number
  >();
  private forgotten = false;
  private leaving = false;
  private probeTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly probeAfterMs: number;
  private queued: Queued[] = [];

  constructor(
    readonly identity: WorkerIdentity,
    private readonly nc: NatsConnection,
    private readonly subjects: NatsSubjects,
    private readonly options: NatsWorkerConnectionOptions = {},
  ) {
    this.probeAfterMs = options.probeAfterMs ?? 500;
  }

  /** Whether this link was closed (or replaced by a newer instance of the worker). */
  get closed(): boolean {
    return this.forgotten;
  }

  /** Requests sent and not yet settled. */
  get pending(): number {
    return this.waiting.size;
  }

  async command(command: WorkerCommand, timeoutMs: number): Promise<unknown> {
    const reply = await this.request(
      this.subjects.rpc(this.identity.pool, this.identity.id),
      JSON.stringify(command),
      timeoutMs,
      command?.op ?? 'command',
    );
    let body: { ok?: boolean; value?: unknown; error?: unknown };
    try {
      body = reply.json();
    } catch {
      throw new WorkerFailure(
        'INTERNAL',
        `Worker ${this.identity.id} sent an unreadable reply to ${command?.op}`,
      );
    }
    if (body?.ok === true) return body.value;
    throw failureFromWire(
      body?.error,
      `Worker ${this.identity.id} refused ${command?.op}`,
    );
  }

  /**
   * Sends `request` to the worker. To a worker that takes batch messages, the requests of one turn
   * of the event loop go in one message once the poll phase is over (as the thread transport and
   * the model's batcher gather theirs), each with its own timeout and its own answer or failure.
   */
  infer(request: InferRequest, timeoutMs: number): Promise<InferReply> {
    if (!this.options.batches) return this.inferOne(request, timeoutMs);
    return new Promise<InferReply>((resolve, reject) => {
      this.queued.push({ request, timeoutMs, resolve, reject });
      if (this.queued.length === 1) setImmediate(() => this.flush());
    });
  }

  /** Sends what was queued in this turn: alone, or in batch messages within the size limits. */
  private flush() {
    const queued = this.queued;
    this.queued = [];
    for (let start = 0; start < queued.length; ) {
      let end = start + 1;
      let bytes = queued[start].request.input.byteLength;
      while (
        end < queued.length &&
        end - start < MAX_BATCH_REQUESTS &&
        bytes + queued[end].request.input.byteLength <= MAX_BATCH_BYTES
      ) {
        bytes += queued[end].request.input.byteLength;
        end += 1;
      }
      this.sendBatch(queued.slice(start, end));
      start = end;
    }
  }

  private sendBatch(batch: Queued[]) {
    if (batch.length === 1) {
      const [one] = batch;
      this.inferOne(one.request, one.timeoutMs).then(one.resolve, one.reject);
      return;
    }
    // The message waits as long as its most patient request; a request with less time fails alone
    // when its own runs out.
    const timeoutMs = Math.max(...batch.map(q => q.timeoutMs));
    const timers = batch
      .filter(q => q.timeoutMs < timeoutMs)
      .map(q =>
        setTimeout(
          () => q.reject(this.timedOut('infer', Math.ceil(q.timeoutMs))),
          q.timeoutMs,
        ),
      );
    const { headers, payload } = encodeInferBatch(batch.map(q => q.request));
    this.request(
      this.subjects.infer(this.identity.pool, this.identity.id),
      payload,
      timeoutMs,
      'infer',
      headers,
    )
      .then(reply => {
        const results = decodeInferBatchReply(
          reply.headers,
          reply.data,
          batch.length,
        );
        batch.forEach((q, i) => {
          const result = results[i];
          if (result instanceof WorkerFailure) q.reject(result);
          else q.resolve(result);
        });
      })
      .catch(error => {
        const failure =
          error instanceof WorkerFailure
            ? error
            : new WorkerFailure('INTERNAL', String(error));
        for (const q of batch) q.reject(failure);
      })
      .finally(() => timers.forEach(clearTimeout));
  }

  private async inferOne(
    request: InferRequest,
    timeoutMs: number,
  ): Promise<InferReply> {
    const { headers, payload } = encodeInferRequest(request);
    const reply = await this.request(
      this.subjects.infer(this.identity.pool, this.identity.id),
      payload,
      timeoutMs,
      'infer',
      headers,
    );
    return decodeInferReply(reply.headers, reply.data);
  }

  /** Forgets the worker; the remote process keeps running (stop it where it runs). */
  async close(): Promise<void> {
    if (this.forgotten) return;
    this.forgotten = true;
    clearTimeout(this.probeTimer);
    this.options.onClose?.(this);
  }

  /** The worker said goodbye: it finishes what it has, and takes nothing new. */
  markLeaving(): void {
    this.leaving = true;
  }

  /** Fails every request still waiting on this worker. */
  failPending(failure: WorkerFailure): void {
    const rejects = [...this.waiting.keys()];
    this.waiting.clear();
    for (const reject of rejects) reject(failure);
  }

  private async request(
    subject: string,
    payload: string | Uint8Array,
    timeoutMs: number,
    what: string,
    headers?: MsgHdrs,
  ): Promise<Msg> {
    if (this.forgotten) {
      throw new WorkerFailure(
        'WORKER_LOST',
        `The link to worker ${this.identity.id} is closed`,
      );
    }
    let reject!: (failure: WorkerFailure) => void;
    const failed = new Promise<never>((_, r) => {
      reject = r;
    });
    this.waiting.set(reject, Date.now());
    this.scheduleProbe(this.probeAfterMs);
    const timeout = Math.max(1, Math.ceil(timeoutMs));
    try {
      return await Promise.race([
        this.nc.request(subject, payload, { timeout, headers }).catch(error => {
          throw this.toFailure(error, what, timeout);
        }),
        failed,
      ]);
    } finally {
      this.waiting.delete(reject);
    }
  }

  private scheduleProbe(delayMs: number) {
    if (this.probeAfterMs <= 0 || this.probeTimer || this.forgotten) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      this.probe();
    }, delayMs);
    this.probeTimer.unref?.();
  }

  /** Asks NATS whether the worker still listens, once the oldest request has waited long enough. */
  private async probe() {
    if (this.waiting.size === 0 || this.forgotten || this.leaving) return;
    // A Map keeps insertion order: the first request waiting is the oldest.
    const oldest = this.waiting.values().next().value ?? Date.now();
    const waitedMs = Date.now() - oldest;
    if (waitedMs < this.probeAfterMs) {
      this.scheduleProbe(this.probeAfterMs - waitedMs);
      return;
    }
    try {
      await this.nc.request(
        this.subjects.rpc(this.identity.pool, this.identity.id),
        JSON.stringify({ op: 'describe' } satisfies WorkerCommand),
        { timeout: Math.max(this.probeAfterMs, 1000) },
      );
    } catch (error) {
      if (
        !this.leaving &&
        ((error instanceof RequestError && error.isNoResponders()) ||
          error instanceof NoRespondersError)
      ) {
        this.failPending(
          new WorkerFailure(
            'WORKER_LOST',
            `Worker ${this.identity.id} stopped listening with requests in flight (no responders)`,
          ),
        );
      }
    }
    this.scheduleProbe(this.probeAfterMs);
  }

  private timedOut(what: string, timeoutMs: number) {
    return new WorkerFailure(
      'TIMEOUT',
      `Worker ${this.identity.id} did not answer ${what} within ${timeoutMs} ms`,
    );
  }

  private toFailure(error: unknown, what: string, timeoutMs: number) {
    const id = this.identity.id;
    if (error instanceof TimeoutError) return this.timedOut(what, timeoutMs);
    if (
      (error instanceof RequestError && error.isNoResponders()) ||
      error instanceof NoRespondersError
    ) {
      const failure = new WorkerFailure(
        'WORKER_LOST',
        `Worker ${id} is not listening (no responders): it stopped, died or is reconnecting`,
      );
      if (!this.leaving) this.failPending(failure);
      return failure;
    }
    if (
      error instanceof ClosedConnectionError ||
      error instanceof DrainingConnectionError ||
      error instanceof RequestError
    ) {
      return new WorkerFailure(
        'WORKER_LOST',
        `The NATS link to worker ${id} broke during ${what}: ${
          (error as Error).message
        }`,
      );
    }
    if (
      error instanceof InvalidArgumentError &&
      /max_payload/.test(error.message)
    ) {
      return new WorkerFailure(
        'BATCH_TOO_LARGE',
        `The ${what} request is larger than the NATS server's max_payload (${this.nc.info?.max_payload} bytes)`,
      );
    }
    return new WorkerFailure(
      'INTERNAL',
      `${what} on worker ${id} failed: ${String(error)}`,
    );
  }
}
