import { headers as natsHeaders, MsgHdrs } from '@nats-io/transport-node';
import {
  HeartbeatMessage,
  InferReply,
  InferRequest,
  WorkerErrorCode,
  WorkerFailure,
} from '../../protocol/types';
import { NATS_HEADERS, isSafeNatsToken } from './subjects';

/*
 * The binary messages of the NATS transport. Tensors travel as little-endian float32 bytes, which
 * is what Float32Array holds on every platform onnxruntime-node ships for (x64, arm64).
 */

/** What the `gekko-meta` header of an inference reply holds. */
export interface InferReplyMeta {
  provider: InferReply['provider'];
  queueMs: number;
  computeMs: number;
  batchRows: number;
  /** The outputs, in the order their data follows each other in the payload. */
  outputs: Array<{ name: string; dims: number[] }>;
}

/** Rows one request may carry at most, whatever the model's batch limit (that one is checked later). */
const MAX_ROWS = 1_000_000;

/** The bytes of a float32 array, without copying. */
export function float32Bytes(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * A Float32Array holding a copy of `bytes`. Message data from nats.js is a view into the socket's
 * read buffer, at any byte offset; copying gives aligned memory that no later read can touch.
 */
export function copyFloat32(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

function product(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Headers and payload of an inference request. */
export function encodeInferRequest(request: InferRequest): {
  headers: MsgHdrs;
  payload: Uint8Array;
} {
  const h = natsHeaders();
  h.set(NATS_HEADERS.model, request.name);
  h.set(NATS_HEADERS.version, request.version);
  h.set(NATS_HEADERS.rows, String(request.rows));
  if (request.deadline !== undefined) {
    h.set(NATS_HEADERS.deadline, String(request.deadline));
  }
  return { headers: h, payload: float32Bytes(request.input) };
}

/** The inference request in a message; throws a {@link WorkerFailure} naming what is wrong. */
export function decodeInferRequest(
  h: MsgHdrs | undefined,
  data: Uint8Array,
): InferRequest {
  const name = h?.get(NATS_HEADERS.model) ?? '';
  const version = h?.get(NATS_HEADERS.version) ?? '';
  if (!name || !version) {
    throw new WorkerFailure(
      'BAD_COMMAND',
      `An inference request needs the ${NATS_HEADERS.model} and ${NATS_HEADERS.version} headers`,
    );
  }
  const rowsHeader = h?.get(NATS_HEADERS.rows) ?? '';
  const rows = /^\d{1,7}$/.test(rowsHeader) ? Number(rowsHeader) : NaN;
  if (!(rows >= 1 && rows <= MAX_ROWS)) {
    throw new WorkerFailure(
      'INPUT_SHAPE',
      `Header ${
        NATS_HEADERS.rows
      } must be a whole number from 1 to ${MAX_ROWS}, got ${JSON.stringify(
        rowsHeader,
      )}`,
    );
  }
  if (data.byteLength === 0 || data.byteLength % (4 * rows) !== 0) {
    throw new WorkerFailure(
      'INPUT_SHAPE',
      `The payload of ${data.byteLength} bytes is not ${rows} rows of float32 features`,
    );
  }
  const deadlineHeader = h?.get(NATS_HEADERS.deadline) ?? '';
  let deadline: number | undefined;
  if (deadlineHeader) {
    deadline = Number(deadlineHeader);
    if (!Number.isFinite(deadline)) {
      throw new WorkerFailure(
        'BAD_COMMAND',
        `Header ${
          NATS_HEADERS.deadline
        } must be epoch milliseconds, got ${JSON.stringify(deadlineHeader)}`,
      );
    }
  }
  return { name, version, rows, input: copyFloat32(data), deadline };
}

/** Headers and payload of an inference reply: meta in a header, the outputs' data concatenated. */
export function encodeInferReply(reply: InferReply): {
  headers: MsgHdrs;
  payload: Uint8Array;
} {
  const entries = Object.entries(reply.outputs);
  const meta: InferReplyMeta = {
    provider: reply.provider,
    queueMs: reply.queueMs,
    computeMs: reply.computeMs,
    batchRows: reply.batchRows,
    outputs: entries.map(([name, t]) => ({ name, dims: t.dims })),
  };
  const h = natsHeaders();
  h.set(NATS_HEADERS.meta, JSON.stringify(meta));
  if (entries.length === 1) {
    return { headers: h, payload: float32Bytes(entries[0][1].data) };
  }
  const payload = new Uint8Array(
    entries.reduce((sum, [, t]) => sum + t.data.byteLength, 0),
  );
  let offset = 0;
  for (const [, t] of entries) {
    payload.set(float32Bytes(t.data), offset);
    offset += t.data.byteLength;
  }
  return { headers: h, payload };
}

/** Headers of an error reply. */
export function errorHeaders(failure: WorkerFailure): MsgHdrs {
  const h = natsHeaders();
  h.set(NATS_HEADERS.error, JSON.stringify(failure.toJSON()));
  return h;
}

const WORKER_ERROR_CODES: ReadonlySet<string> = new Set<WorkerErrorCode>([
  'MODEL_NOT_LOADED',
  'BATCH_TOO_LARGE',
  'INPUT_SHAPE',
  'DEADLINE_EXCEEDED',
  'LOAD_FAILED',
  'ARTIFACT_UNAVAILABLE',
  'BAD_COMMAND',
  'SHUTTING_DOWN',
  'INTERNAL',
]);

/** A {@link WorkerFailure} from an `{ code, message }` a worker sent; unknown codes become `INTERNAL`. */
export function failureFromWire(
  value: unknown,
  fallback: string,
): WorkerFailure {
  const v = value as { code?: unknown; message?: unknown } | undefined;
  const code =
    typeof v?.code === 'string' && WORKER_ERROR_CODES.has(v.code)
      ? (v.code as WorkerErrorCode)
      : 'INTERNAL';
  const message = typeof v?.message === 'string' ? v.message : fallback;
  return new WorkerFailure(code, message);
}

/** The failure in a message's `gekko-error` header, if it has one. */
export function failureInHeaders(
  h: MsgHdrs | undefined,
): WorkerFailure | undefined {
  const raw = h?.get(NATS_HEADERS.error);
  if (!raw) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return new WorkerFailure('INTERNAL', `Unreadable error reply: ${raw}`);
  }
  return failureFromWire(parsed, raw);
}

/** The inference reply in a message; throws a {@link WorkerFailure} for an error or a malformed reply. */
export function decodeInferReply(
  h: MsgHdrs | undefined,
  data: Uint8Array,
): InferReply {
  const failure = failureInHeaders(h);
  if (failure) throw failure;
  let meta: InferReplyMeta;
  try {
    meta = JSON.parse(h?.get(NATS_HEADERS.meta) ?? '');
  } catch {
    throw new WorkerFailure(
      'INTERNAL',
      `The worker's reply has no readable ${NATS_HEADERS.meta} header`,
    );
  }
  const outputs: InferReply['outputs'] = {};
  let offset = 0;
  for (const { name, dims } of Array.isArray(meta?.outputs)
    ? meta.outputs
    : []) {
    const validDims =
      Array.isArray(dims) && dims.every(d => Number.isSafeInteger(d) && d >= 0);
    const bytes = validDims ? 4 * product(dims) : NaN;
    if (
      typeof name !== 'string' ||
      !Number.isSafeInteger(bytes) ||
      offset + bytes > data.byteLength
    ) {
      throw new WorkerFailure(
        'INTERNAL',
        `The worker's reply does not match its outputs' names and dimensions`,
      );
    }
    outputs[name] = {
      dims,
      data: copyFloat32(data.subarray(offset, offset + bytes)),
    };
    offset += bytes;
  }
  if (offset !== data.byteLength) {
    throw new WorkerFailure(
      'INTERNAL',
      `The worker's reply has ${data.byteLength} bytes, its outputs' dimensions say ${offset}`,
    );
  }
  return {
    outputs,
    provider: meta.provider,
    queueMs: meta.queueMs,
    computeMs: meta.computeMs,
    batchRows: meta.batchRows,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isFiniteNumber = (v: unknown): v is number =>
  typeof v === 'number' && Number.isFinite(v);
const isOptionalNumber = (v: unknown) => v === undefined || isFiniteNumber(v);

/**
 * `value` as a {@link HeartbeatMessage} of a NATS worker, or undefined when its shape is wrong.
 * Anyone allowed to publish on the heartbeat subjects can send anything: check before trusting.
 */
export function parseHeartbeatMessage(
  value: unknown,
): HeartbeatMessage | undefined {
  if (
    !isRecord(value) ||
    !isRecord(value.worker) ||
    !isRecord(value.heartbeat)
  ) {
    return undefined;
  }
  const { worker, heartbeat } = value;
  if (
    typeof worker.id !== 'string' ||
    !isSafeNatsToken(worker.id) ||
    typeof worker.pool !== 'string' ||
    !isSafeNatsToken(worker.pool) ||
    worker.transport !== 'nats' ||
    typeof worker.host !== 'string' ||
    !isFiniteNumber(worker.pid) ||
    typeof worker.startedAt !== 'string' ||
    !isFiniteNumber(value.seq)
  ) {
    return undefined;
  }
  if (
    typeof heartbeat.timestamp !== 'string' ||
    !['cuda', 'mps', 'cpu'].includes(heartbeat.acceleratorKind as string) ||
    !Array.isArray(heartbeat.devices) ||
    !heartbeat.devices.every(isRecord) ||
    !Array.isArray(heartbeat.loadedModels) ||
    !heartbeat.loadedModels.every(
      m =>
        isRecord(m) &&
        typeof m.name === 'string' &&
        typeof m.version === 'string' &&
        typeof m.provider === 'string',
    ) ||
    !isFiniteNumber(heartbeat.queueDepth) ||
    !isFiniteNumber(heartbeat.requestsPerSecond) ||
    !isFiniteNumber(heartbeat.rowsPerSecond) ||
    !isRecord(heartbeat.latencyMs) ||
    ![
      heartbeat.utilizationPercent,
      heartbeat.memoryUsedBytes,
      heartbeat.memoryTotalBytes,
      heartbeat.temperatureCelsius,
      heartbeat.powerWatts,
    ].every(isOptionalNumber)
  ) {
    return undefined;
  }
  return value as unknown as HeartbeatMessage;
}
