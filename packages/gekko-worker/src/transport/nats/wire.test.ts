import { WorkerFailure } from '../../protocol/types';
import { headers as natsHeaders } from '@nats-io/transport-node';
import {
  copyFloat32,
  decodeInferBatch,
  decodeInferBatchReply,
  decodeInferReply,
  decodeInferRequest,
  encodeInferBatch,
  encodeInferBatchReply,
  encodeInferReply,
  encodeInferRequest,
  parseHeartbeatMessage,
} from './wire';

describe('NATS wire format', () => {
  it('reads float32 data at an odd byte offset of a larger buffer exactly', () => {
    const values = new Float32Array([1.5, -2.25, 3.125, Math.PI]);
    const buffer = new Uint8Array(3 + values.byteLength + 5);
    buffer.set(new Uint8Array(values.buffer), 3);
    const view = buffer.subarray(3, 3 + values.byteLength);
    expect(view.byteOffset % 4).toBe(3);

    const copy = copyFloat32(view);
    expect(copy).toEqual(values);
    // A copy: later writes to the read buffer do not change it.
    buffer.fill(0);
    expect(copy[3]).toBe(Math.fround(Math.PI));
  });

  it('round-trips a request and a reply with several outputs', () => {
    const input = new Float32Array([1, 2, 3, 4, 5, 6]);
    const encoded = encodeInferRequest({
      name: 'm',
      version: '7',
      rows: 2,
      input,
      deadline: 1234,
    });
    expect(decodeInferRequest(encoded.headers, encoded.payload)).toEqual({
      name: 'm',
      version: '7',
      rows: 2,
      input,
      deadline: 1234,
    });

    const reply = {
      outputs: {
        a: { dims: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
        b: { dims: [2], data: new Float32Array([7, 8]) },
      },
      provider: 'cpu' as const,
      queueMs: 0.5,
      computeMs: 1.5,
      batchRows: 4,
    };
    const wire = encodeInferReply(reply);
    // Shift the payload to an odd offset, as a socket buffer may.
    const shifted = new Uint8Array(wire.payload.byteLength + 1);
    shifted.set(wire.payload, 1);
    expect(decodeInferReply(wire.headers, shifted.subarray(1))).toEqual(reply);
  });

  it('refuses a reply whose payload does not match its dimensions', () => {
    const wire = encodeInferReply({
      outputs: { a: { dims: [3], data: new Float32Array([1, 2, 3]) } },
      provider: 'cpu',
      queueMs: 0,
      computeMs: 0,
      batchRows: 1,
    });
    expect(() =>
      decodeInferReply(wire.headers, wire.payload.subarray(4)),
    ).toThrow(WorkerFailure);
  });

  it('round-trips a batch of requests, and its replies with a failure among them', () => {
    const requests = [
      { name: 'm', version: '1', rows: 1, input: new Float32Array([1, 2]) },
      {
        name: 'm',
        version: '2',
        rows: 2,
        input: new Float32Array([3, 4, 5, 6]),
        deadline: 99,
      },
      { name: 'n', version: '1', rows: 1, input: new Float32Array([7, 8]) },
    ];
    const encoded = encodeInferBatch(requests);
    expect(encoded.headers.get('gekko-batch')).toBe('3');
    const shifted = new Uint8Array(encoded.payload.byteLength + 3);
    shifted.set(encoded.payload, 3);
    expect(decodeInferBatch(encoded.headers, shifted.subarray(3))).toEqual(
      requests.map(r => ({ deadline: undefined, ...r })),
    );

    const reply = (value: number) => ({
      outputs: {
        a: { dims: [1, 2], data: new Float32Array([value, value + 1]) },
        b: { dims: [1], data: new Float32Array([value * 10]) },
      },
      provider: 'cpu' as const,
      queueMs: 0.25,
      computeMs: 1,
      batchRows: 4,
    });
    const failure = new WorkerFailure('INPUT_SHAPE', 'bad rows');
    const wire = encodeInferBatchReply([reply(1), failure, reply(5)]);
    const results = decodeInferBatchReply(wire.headers, wire.payload, 3);
    expect(results[0]).toEqual(reply(1));
    expect(results[1]).toBeInstanceOf(WorkerFailure);
    expect(results[1]).toMatchObject({
      code: 'INPUT_SHAPE',
      message: 'bad rows',
    });
    expect(results[2]).toEqual(reply(5));
    // The count must be the one asked for, and the payload what the dimensions say.
    expect(() => decodeInferBatchReply(wire.headers, wire.payload, 2)).toThrow(
      WorkerFailure,
    );
    expect(() =>
      decodeInferBatchReply(wire.headers, wire.payload.subarray(4), 3),
    ).toThrow(WorkerFailure);
  });

  it('refuses a batch message it cannot read, and a bad request in it alone', () => {
    const batch = (items: unknown, count = '2', bytes = 16) => {
      const h = natsHeaders();
      h.set('gekko-batch', count);
      h.set('gekko-items', JSON.stringify(items));
      return decodeInferBatch(h, new Uint8Array(bytes));
    };
    const item = { model: 'm', version: '1', rows: 1, bytes: 8 };
    expect(batch([item, item])).toHaveLength(2);
    for (const [items, count, bytes] of [
      [[item, item], '1', 16],
      [[item, item], '3', 16],
      [[item, item], '300', 16],
      [[item], '2', 16],
      [[item, { ...item, bytes: 16 }], '2', 16],
      [[item, { ...item, bytes: -8 }], '2', 16],
      [[item, item], '2', 24],
      ['not a list', '2', 16],
    ] as const) {
      expect(() => batch(items, count, bytes)).toThrow(
        expect.objectContaining({ code: 'BAD_COMMAND' }),
      );
    }
    const [good, ...bad] = decodeInferBatchWith([
      item,
      { ...item, rows: 0 },
      { ...item, rows: 3 },
      { ...item, model: '' },
      { ...item, deadline: 'soon' },
    ]);
    expect(good).toMatchObject({ name: 'm', rows: 1 });
    expect(bad.map(b => (b as WorkerFailure).code)).toEqual([
      'INPUT_SHAPE',
      'INPUT_SHAPE',
      'BAD_COMMAND',
      'BAD_COMMAND',
    ]);
    expect((bad[1] as WorkerFailure).message).toMatch(/gekko-items\[2\]/);

    function decodeInferBatchWith(items: Array<Record<string, unknown>>) {
      const h = natsHeaders();
      h.set('gekko-batch', String(items.length));
      h.set('gekko-items', JSON.stringify(items));
      return decodeInferBatch(h, new Uint8Array(8 * items.length));
    }
  });

  it('accepts only well-formed NATS worker heartbeats', () => {
    const message = {
      worker: {
        id: 'w1',
        pool: 'p',
        transport: 'nats',
        host: 'h',
        pid: 1,
        startedAt: 't',
      },
      seq: 1,
      heartbeat: {
        timestamp: 't',
        acceleratorKind: 'mps',
        devices: [{ index: 0 }],
        loadedModels: [{ name: 'm', version: '1', provider: 'coreml' }],
        queueDepth: 0,
        requestsPerSecond: 0,
        rowsPerSecond: 0,
        latencyMs: {},
      },
    };
    expect(parseHeartbeatMessage(message)).toBe(message);
    const batching = { ...message, accepts: ['infer-batch'] };
    expect(parseHeartbeatMessage(batching)).toBe(batching);
    for (const bad of [
      { ...message, accepts: 'infer-batch' },
      { ...message, accepts: [1] },
      null,
      'x',
      { ...message, seq: '1' },
      { ...message, worker: { ...message.worker, id: 'a.b' } },
      { ...message, worker: { ...message.worker, pool: 'a.b' } },
      { ...message, worker: { ...message.worker, pool: '' } },
      { ...message, worker: { ...message.worker, transport: 'thread' } },
      {
        ...message,
        heartbeat: { ...message.heartbeat, acceleratorKind: 'tpu' },
      },
      { ...message, heartbeat: { ...message.heartbeat, loadedModels: [{}] } },
      {
        ...message,
        heartbeat: { ...message.heartbeat, memoryUsedBytes: 'lots' },
      },
    ]) {
      expect(parseHeartbeatMessage(bad)).toBeUndefined();
    }
  });
});
