import {
  BatchRunner,
  BatchTooLargeError,
  DynamicBatcher,
  InferenceOutputs,
  InputShapeError,
} from './DynamicBatcher';

/** A runner that doubles its input and remembers the batch sizes it saw. */
function recordingRunner() {
  const batchSizes: number[] = [];
  const runner: BatchRunner = async (input, rows) => {
    batchSizes.push(rows);
    return {
      output: { data: input.map(v => v * 2), dims: [rows, 2] },
    };
  };
  return { batchSizes, runner };
}

function request(rows: number, first: number) {
  return Float32Array.from({ length: rows * 2 }, (_, i) => first + i);
}

describe('DynamicBatcher', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('splits the merged outputs back to each request', async () => {
    const { batchSizes, runner } = recordingRunner();
    const batcher = new DynamicBatcher(runner, {
      maxBatchSize: 8,
      maxQueueDelayMs: 10,
      featureSize: 2,
    });

    const [a, b, c] = await Promise.all([
      batcher.submit(request(1, 0), 1),
      batcher.submit(request(2, 100), 2),
      batcher.submit(request(3, 200), 3),
    ]);

    expect(batchSizes).toEqual([6]);
    expect(a.output).toEqual({ data: Float32Array.from([0, 2]), dims: [1, 2] });
    expect(b.output).toEqual({
      data: Float32Array.from([200, 202, 204, 206]),
      dims: [2, 2],
    });
    expect(c.output.data).toEqual(
      Float32Array.from([400, 402, 404, 406, 408, 410]),
    );
  });

  it('never runs more than maxBatchSize rows and never splits a request', async () => {
    const { batchSizes, runner } = recordingRunner();
    const batcher = new DynamicBatcher(runner, {
      maxBatchSize: 5,
      maxQueueDelayMs: 1000,
    });

    await Promise.all(
      [2, 2, 2, 3, 1, 4, 5].map(rows => batcher.submit(request(rows, 0), rows)),
    );

    // A full queue dispatches at once: 2+2 (the next 2 would overflow), 2+3, 1+4, 5.
    expect(batchSizes).toEqual([4, 5, 5, 5]);
  });

  it('waits maxQueueDelayMs after the first queued request before running a partial batch', async () => {
    jest.useFakeTimers();
    const { batchSizes, runner } = recordingRunner();
    const batcher = new DynamicBatcher(runner, {
      maxBatchSize: 16,
      maxQueueDelayMs: 100,
    });

    const first = batcher.submit(request(1, 0), 1);
    await jest.advanceTimersByTimeAsync(60);
    const second = batcher.submit(request(2, 0), 2);
    await jest.advanceTimersByTimeAsync(39);
    expect(batchSizes).toEqual([]);
    expect(batcher.queueDepth).toBe(2);

    await jest.advanceTimersByTimeAsync(1);
    expect(batchSizes).toEqual([3]);
    await expect(Promise.all([first, second])).resolves.toHaveLength(2);
    expect(batcher.queueDepth).toBe(0);
  });

  it('queues requests while a batch runs and merges them into the next one', async () => {
    let release: () => void = () => {};
    const batchSizes: number[] = [];
    const batcher = new DynamicBatcher(
      async (input, rows) => {
        batchSizes.push(rows);
        if (batchSizes.length === 1) {
          await new Promise<void>(resolve => {
            release = resolve;
          });
        }
        return { output: { data: input, dims: [rows, 2] } };
      },
      { maxBatchSize: 64, maxQueueDelayMs: 0 },
    );

    const first = batcher.submit(request(1, 0), 1);
    await new Promise(resolve => setImmediate(resolve)); // the first batch starts
    const rest = Array.from({ length: 10 }, () =>
      batcher.submit(request(1, 0), 1),
    );
    await new Promise(resolve => setImmediate(resolve));
    expect(batcher.queueDepth).toBe(10);
    release();

    await Promise.all([first, ...rest]);
    expect(batchSizes).toEqual([1, 10]);
  });

  it('merges requests that arrive in the same tick even with no queue delay', async () => {
    const { batchSizes, runner } = recordingRunner();
    const batcher = new DynamicBatcher(runner, {
      maxBatchSize: 64,
      maxQueueDelayMs: 0,
    });
    await Promise.all(
      Array.from({ length: 11 }, () => batcher.submit(request(1, 0), 1)),
    );
    expect(batchSizes).toEqual([11]);
  });

  it('merges requests that reach it after chains of awaits of different lengths in one turn', async () => {
    // As requests do that were read in one poll phase, each after its own awaits (authentication,
    // body, routing) before it is submitted.
    const { batchSizes, runner } = recordingRunner();
    const batcher = new DynamicBatcher(runner, {
      maxBatchSize: 64,
      maxQueueDelayMs: 0,
    });
    await Promise.all(
      Array.from({ length: 8 }, async (_, awaits) => {
        for (let i = 0; i < awaits * 3; i++) await Promise.resolve();
        return batcher.submit(request(1, 0), 1);
      }),
    );
    expect(batchSizes).toEqual([8]);
  });

  it('runs a full batch at once, with no turn of the event loop, and hands a lone request its outputs uncopied', async () => {
    const seen: InferenceOutputs[] = [];
    const batches: number[] = [];
    const runner: BatchRunner = async (input, rows) => {
      batches.push(rows);
      const outputs = {
        output: { data: input.map(v => v * 2), dims: [rows, 2] },
      };
      seen.push(outputs);
      return outputs;
    };
    const batcher = new DynamicBatcher(runner, {
      maxBatchSize: 4,
      maxQueueDelayMs: 50,
      featureSize: 2,
    });
    // Waiting 50 ms for company would be pointless: 4 rows fill the batch.
    const full = batcher.submitTimed(request(4, 0), 4);
    expect(batches).toEqual([4]);
    const answer = await full;
    expect(answer.outputs).toBe(seen[0]);
    expect(answer.queueMs).toBeLessThan(50);

    // Two requests that fill a batch between them run as soon as the second arrives; each gets a
    // copy of its own rows.
    const [a, b] = await Promise.all([
      batcher.submit(request(1, 0), 1),
      batcher.submit(request(3, 10), 3),
    ]);
    expect(batches).toEqual([4, 4]);
    expect(Array.from(a.output.data)).toEqual([0, 2]);
    expect(a.output.data.buffer).not.toBe(seen[1].output.data.buffer);
    expect(b.output.dims).toEqual([3, 2]);
  });

  it('rejects a request larger than maxBatchSize with a clear error', async () => {
    const { batchSizes, runner } = recordingRunner();
    const batcher = new DynamicBatcher(runner, {
      maxBatchSize: 4,
      maxQueueDelayMs: 1,
    });

    const result = batcher.submit(request(5, 0), 5);

    await expect(result).rejects.toThrow(BatchTooLargeError);
    await expect(result).rejects.toThrow(
      'Request has 5 rows but this model accepts at most 4 rows per request (maxBatchSize)',
    );
    expect(batchSizes).toEqual([]);
  });

  it('rejects an input whose length is not rows times the row size', async () => {
    const { runner } = recordingRunner();
    const batcher = new DynamicBatcher(runner, {
      maxBatchSize: 4,
      maxQueueDelayMs: 1,
      featureSize: 2,
    });

    await expect(batcher.submit(new Float32Array(3), 1)).rejects.toThrow(
      InputShapeError,
    );
  });

  it('fails every request of a batch whose inference fails', async () => {
    const batcher = new DynamicBatcher(
      async () => {
        throw new Error('out of memory');
      },
      { maxBatchSize: 4, maxQueueDelayMs: 5 },
    );

    const results = await Promise.allSettled([
      batcher.submit(request(1, 0), 1),
      batcher.submit(request(1, 0), 1),
    ]);

    expect(results.map(r => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('rejects queued requests when closed', async () => {
    const { batchSizes, runner } = recordingRunner();
    const batcher = new DynamicBatcher(runner, {
      maxBatchSize: 4,
      maxQueueDelayMs: 10_000,
    });

    const pending = batcher.submit(request(1, 0), 1);
    await batcher.close();

    await expect(pending).rejects.toThrow('The model was unloaded');
    expect(batchSizes).toEqual([]);
  });

  it('tracks throughput and latency percentiles of completed requests', async () => {
    const { runner } = recordingRunner();
    const batcher = new DynamicBatcher(runner, {
      maxBatchSize: 4,
      maxQueueDelayMs: 0,
    });

    await Promise.all(
      Array.from({ length: 20 }, () => batcher.submit(request(1, 0), 1)),
    );

    const stats = batcher.stats();
    expect(stats.queueDepth).toBe(0);
    expect(stats.requestsPerSecond).toBeGreaterThan(0);
    expect(stats.rowsPerSecond).toBe(stats.requestsPerSecond);
    expect(stats.latencyMs.p50).toBeDefined();
    expect(stats.latencyMs.p95!).toBeGreaterThanOrEqual(stats.latencyMs.p50!);
    expect(stats.latencyMs.p99!).toBeGreaterThanOrEqual(stats.latencyMs.p95!);
  });
});
