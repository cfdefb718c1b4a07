import { WorkerFailure } from '../../protocol/types';
import {
  copyFloat32,
  decodeInferReply,
  decodeInferRequest,
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
    for (const bad of [
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
