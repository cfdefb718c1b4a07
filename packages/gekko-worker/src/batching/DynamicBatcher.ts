import { LatencyWindow, WorkloadStats } from './LatencyWindow';

/** Per-model dynamic batching settings, as in Triton's `dynamic_batching`. */
export interface DynamicBatchingConfig {
  /** Most rows merged into one inference; a single request above it is rejected. */
  maxBatchSize: number;
  /** How long the first queued request may wait for others before its batch runs. */
  maxQueueDelayMs: number;
}

/** One output tensor of an inference. */
export interface OutputTensor {
  data: Float32Array;
  dims: number[];
}

/** The outputs of an inference by output name. */
export type InferenceOutputs = Record<string, OutputTensor>;

/** Runs one merged batch of `rows` rows; every output's first dimension must be `rows`. */
export type BatchRunner = (
  input: Float32Array,
  rows: number,
) => Promise<InferenceOutputs>;

/** Options of a {@link DynamicBatcher}. */
export interface DynamicBatcherOptions extends DynamicBatchingConfig {
  /** Floats per row; when known, requests whose length is not rows × featureSize are rejected. */
  featureSize?: number;
  /** Batches that may run at once (Triton's instance count); defaults to 1. */
  maxConcurrentBatches?: number;
  /** Called for each completed request, e.g. to feed a worker-wide latency window. */
  onRequestComplete?: (latencyMs: number, rows: number) => void;
}

/** Thrown for a request larger than the model's maxBatchSize; the API maps it to 413. */
export class BatchTooLargeError extends Error {
  constructor(readonly rows: number, readonly maxBatchSize: number) {
    super(
      `Request has ${rows} rows but this model accepts at most ${maxBatchSize} rows per request (maxBatchSize)`,
    );
    this.name = 'BatchTooLargeError';
  }
}

/** Thrown for a request whose input does not match the model's row size; the API maps it to 400. */
export class InputShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputShapeError';
  }
}

/** A request's outputs with where its time went, as Triton reports queue and compute durations. */
export interface TimedOutputs {
  outputs: InferenceOutputs;
  /** Time spent waiting in the batch queue. */
  queueMs: number;
  /** Time the merged batch took to run. */
  computeMs: number;
  /** Rows in the merged batch this request ran in. */
  batchRows: number;
}

interface Pending {
  input: Float32Array;
  rows: number;
  enqueuedAt: number;
  resolve: (outputs: TimedOutputs) => void;
  reject: (error: unknown) => void;
}

/**
 * Merges concurrent requests for one model along the batch dimension, runs them
 * as one inference and splits the outputs back per request.
 *
 * A batch runs as soon as the queue holds `maxBatchSize` rows, or when the oldest
 * queued request has waited `maxQueueDelayMs`; requests are never split across
 * batches.
 */
export class DynamicBatcher {
  private readonly queue: Pending[] = [];
  private queuedRows = 0;
  private running = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private pumpScheduled = false;
  private readonly idle = new Set<() => void>();
  private readonly window = new LatencyWindow();
  private readonly maxConcurrentBatches: number;

  constructor(
    private readonly runner: BatchRunner,
    private readonly options: DynamicBatcherOptions,
  ) {
    if (!(options.maxBatchSize >= 1)) {
      throw new RangeError('maxBatchSize must be at least 1');
    }
    if (!(options.maxQueueDelayMs >= 0)) {
      throw new RangeError('maxQueueDelayMs must be 0 or more');
    }
    this.maxConcurrentBatches = options.maxConcurrentBatches ?? 1;
  }

  /** Requests waiting for a batch. */
  get queueDepth(): number {
    return this.queue.length;
  }

  /** Queues `rows` rows of input and resolves with this request's share of the outputs. */
  submit(input: Float32Array, rows: number): Promise<InferenceOutputs> {
    return this.submitTimed(input, rows).then(r => r.outputs);
  }

  /** Like {@link DynamicBatcher.submit}, with the request's queue and compute time. */
  submitTimed(input: Float32Array, rows: number): Promise<TimedOutputs> {
    if (this.closed) {
      return Promise.reject(new Error('The model is being unloaded'));
    }
    if (!Number.isInteger(rows) || rows < 1) {
      return Promise.reject(
        new InputShapeError(`rows must be a positive integer, got ${rows}`),
      );
    }
    if (rows > this.options.maxBatchSize) {
      return Promise.reject(
        new BatchTooLargeError(rows, this.options.maxBatchSize),
      );
    }
    const { featureSize } = this.options;
    if (
      input.length % rows !== 0 ||
      (featureSize !== undefined && input.length !== rows * featureSize)
    ) {
      return Promise.reject(
        new InputShapeError(
          `Expected ${rows} rows of ${
            featureSize ?? 'equal-sized'
          } values, got ${input.length} values`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({
        input,
        rows,
        enqueuedAt: performance.now(),
        resolve,
        reject,
      });
      this.queuedRows += rows;
      // A full batch waits for nothing: it runs now, one turn of the event loop sooner (a request of
      // maxBatchSize rows, or the one that fills the queue).
      if (
        this.queuedRows >= this.options.maxBatchSize &&
        this.running < this.maxConcurrentBatches
      ) {
        this.pump();
        return;
      }
      // After this turn of the event loop (setImmediate runs right after the poll phase): requests
      // that arrive together join one batch even with no queue delay, whether they came in one
      // message (a thread's coalesced batch) or from every socket read in this poll phase, each after
      // its own chain of awaits (authentication, body, routing), as they do on the event loop.
      if (!this.pumpScheduled) {
        this.pumpScheduled = true;
        setImmediate(() => {
          this.pumpScheduled = false;
          this.pump();
        });
      }
    });
  }

  /** Throughput, latency percentiles and queue depth of this model. */
  stats(): WorkloadStats {
    return { ...this.window.stats(), queueDepth: this.queue.length };
  }

  /** Rejects queued requests and waits for running batches to finish. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const pending of this.queue.splice(0)) {
      pending.reject(new Error('The model was unloaded'));
    }
    this.queuedRows = 0;
    if (this.running > 0) {
      await new Promise<void>(resolve => this.idle.add(resolve));
    }
  }

  private pump() {
    while (this.running < this.maxConcurrentBatches && this.queue.length > 0) {
      const waited = performance.now() - this.queue[0].enqueuedAt;
      const ready =
        this.queuedRows >= this.options.maxBatchSize ||
        waited >= this.options.maxQueueDelayMs;
      if (!ready) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, Math.max(0, this.options.maxQueueDelayMs - waited));
        return;
      }
      clearTimeout(this.timer);
      this.timer = undefined;
      this.dispatch(this.takeBatch());
    }
  }

  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    let rows = 0;
    while (
      this.queue.length > 0 &&
      rows + this.queue[0].rows <= this.options.maxBatchSize
    ) {
      const next = this.queue.shift()!;
      rows += next.rows;
      batch.push(next);
    }
    this.queuedRows -= rows;
    return batch;
  }

  private async dispatch(batch: Pending[]) {
    this.running += 1;
    const rows = batch.reduce((sum, p) => sum + p.rows, 0);
    try {
      let input = batch[0].input;
      if (batch.length > 1) {
        input = new Float32Array(
          batch.reduce((sum, p) => sum + p.input.length, 0),
        );
        let offset = 0;
        for (const pending of batch) {
          input.set(pending.input, offset);
          offset += pending.input.length;
        }
      }
      const started = performance.now();
      const outputs = await this.runner(input, rows);
      const done = performance.now();
      let row = 0;
      for (const pending of batch) {
        pending.resolve({
          // A batch of one request: its outputs are all its own, and are not copied.
          outputs:
            batch.length === 1
              ? outputs
              : splitRows(outputs, rows, row, pending.rows),
          queueMs: started - pending.enqueuedAt,
          computeMs: done - started,
          batchRows: rows,
        });
        row += pending.rows;
        const latencyMs = done - pending.enqueuedAt;
        this.window.record(latencyMs, pending.rows);
        this.options.onRequestComplete?.(latencyMs, pending.rows);
      }
    } catch (error) {
      for (const pending of batch) {
        pending.reject(error);
      }
    } finally {
      this.running -= 1;
      if (this.running === 0) {
        for (const resolve of this.idle) {
          resolve();
        }
        this.idle.clear();
      }
      if (!this.closed) {
        this.pump();
      }
    }
  }
}

/** This request's rows of every output; copies, so callers may keep them. */
function splitRows(
  outputs: InferenceOutputs,
  batchRows: number,
  firstRow: number,
  rows: number,
): InferenceOutputs {
  const result: InferenceOutputs = {};
  for (const [name, tensor] of Object.entries(outputs)) {
    const perRow = tensor.data.length / batchRows;
    result[name] = {
      data: tensor.data.slice(firstRow * perRow, (firstRow + rows) * perRow),
      dims: [rows, ...tensor.dims.slice(1)],
    };
  }
  return result;
}
