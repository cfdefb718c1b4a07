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
  const rows = h?.get(NATS_HEADERS.rows) ?? '';
  const deadline = h?.get(NATS_HEADERS.deadline) ?? '';
  return checkedRequest(
    {
      name: h?.get(NATS_HEADERS.model) ?? '',
      version: h?.get(NATS_HEADERS.version) ?? '',
      rows: /^\d{1,7}$/.test(rows) ? Number(rows) : NaN,
      deadline: deadline ? Number(deadline) : undefined,
    },
    { rows, deadline },
    data,
    {
      request: 'An inference request',
      names: `the ${NATS_HEADERS.model} and ${NATS_HEADERS.version} headers`,
      rows: `Header ${NATS_HEADERS.rows}`,
      payload: 'The payload',
      deadline: `Header ${NATS_HEADERS.deadline}`,
    },
  );
}

/**
 * One inference request, from a single message's headers or a batch message's item: throws a
 * {@link WorkerFailure} that names the field (`label`) and the value it got (`shown`).
 */
function checkedRequest(
  fields: { name: unknown; version: unknown; rows: unknown; deadline: unknown },
  shown: { rows: unknown; deadline: unknown },
  data: Uint8Array,
  label: Record<'request' | 'names' | 'rows' | 'payload' | 'deadline', string>,
): InferRequest {
  const { name, version, rows, deadline } = fields;
  if (
    typeof name !== 'string' ||
    !name ||
    typeof version !== 'string' ||
    !version
  ) {
    throw new WorkerFailure(
      'BAD_COMMAND',
      `${label.request} needs ${label.names}`,
    );
  }
  if (
    typeof rows !== 'number' ||
    !Number.isInteger(rows) ||
    rows < 1 ||
    rows > MAX_ROWS
  ) {
    throw new WorkerFailure(
      'INPUT_SHAPE',
      `${
        label.rows
      } must be a whole number from 1 to ${MAX_ROWS}, got ${JSON.stringify(
        shown.rows,
      )}`,
    );
  }
  if (data.byteLength === 0 || data.byteLength % (4 * rows) !== 0) {
    throw new WorkerFailure(
      'INPUT_SHAPE',
      `${label.payload} of ${data.byteLength} bytes is not ${rows} rows of float32 features`,
    );
  }
  if (
    deadline !== undefined &&
    (typeof deadline !== 'number' || !Number.isFinite(deadline))
  ) {
    throw new WorkerFailure(
      'BAD_COMMAND',
      `${label.deadline} must be epoch milliseconds, got ${JSON.stringify(
        shown.deadline,
      )}`,
    );
  }
  return { name, version, rows, input: copyFloat32(data), deadline };
}

/** Headers and payload of an inference reply: meta in a header, the outputs' data concatenated. */
export function encodeInferReply(reply: InferReply): {
  headers: MsgHdrs;
  payload: Uint8Array;
} {
  const entries = Object.entries(reply.outputs);
  const h = natsHeaders();
  h.set(NATS_HEADERS.meta, JSON.stringify(replyMeta(reply, entries)));
  return {
    headers: h,
    payload: concatBytes(entries.map(([, t]) => float32Bytes(t.data))),
  };
}

function replyMeta(
  reply: InferReply,
  entries: Array<[string, InferReply['outputs'][string]]>,
): InferReplyMeta {
  return {
    provider: reply.provider,
    queueMs: reply.queueMs,
    computeMs: reply.computeMs,
    batchRows: reply.batchRows,
    outputs: entries.map(([name, t]) => ({ name, dims: t.dims })),
  };
}

/** `parts` back to back in one buffer. */
function concatBytes(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  if (parts.length === 0) return new Uint8Array(0);
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** The JSON value of header `name`, or undefined when it is missing or not JSON. */
function jsonHeader(h: MsgHdrs | undefined, name: string): unknown {
  try {
    return JSON.parse(h?.get(name) ?? '');
  } catch {
    return undefined;
  }
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
  const meta = jsonHeader(h, NATS_HEADERS.meta);
  if (meta === undefined) {
    throw new WorkerFailure(
      'INTERNAL',
      `The worker's reply has no readable ${NATS_HEADERS.meta} header`,
    );
  }
  const { reply, end } = readReply(meta, data, 0);
  if (end !== data.byteLength) {
    throw new WorkerFailure(
      'INTERNAL',
      `The worker's reply has ${data.byteLength} bytes, its outputs' dimensions say ${end}`,
    );
  }
  return reply;
}

/** The reply that `meta` describes, its outputs read from `data` at `offset`; and where they end. */
function readReply(
  meta: unknown,
  data: Uint8Array,
  offset: number,
): { reply: InferReply; end: number } {
  const m = (isRecord(meta) ? meta : {}) as Partial<InferReplyMeta>;
  const outputs: InferReply['outputs'] = {};
  let end = offset;
  for (const { name, dims } of Array.isArray(m.outputs) ? m.outputs : []) {
    const validDims =
      Array.isArray(dims) && dims.every(d => Number.isSafeInteger(d) && d >= 0);
    const bytes = validDims ? 4 * product(dims) : NaN;
    if (
      typeof name !== 'string' ||
      !Number.isSafeInteger(bytes) ||
      end + bytes > data.byteLength
    ) {
      throw new WorkerFailure(
        'INTERNAL',
        `The worker's reply does not match its outputs' names and dimensions`,
      );
    }
    outputs[name] = {
      dims,
      data: copyFloat32(data.subarray(end, end + bytes)),
    };
    end += bytes;
  }
  return {
    reply: {
      outputs,
      provider: m.provider!,
      queueMs: m.queueMs!,
      computeMs: m.computeMs!,
      batchRows: m.batchRows!,
    },
    end,
  };
}

/*
 * Batch messages: several inference requests in one message, and their replies in one, which a
 * worker that says it accepts `infer-batch` takes (see the package README). One message instead of
 * one per request saves the NATS server, the control plane and the worker a message's work per
 * request: at batch 1 that work costs more than the request's bytes.
 */

/** Requests one batch message carries at most. */
export const MAX_BATCH_REQUESTS = 256;

/** One request of a batch message, as its `gekko-items` header lists it. */
interface BatchRequestItem {
  model: string;
  version: string;
  rows: number;
  /** Bytes of its input in the payload, after those of the requests before it. */
  bytes: number;
  deadline?: number;
}

/** Headers and payload of a message of several inference requests (2 or more). */
export function encodeInferBatch(requests: InferRequest[]): {
  headers: MsgHdrs;
  payload: Uint8Array;
} {
  const items: BatchRequestItem[] = requests.map(r => ({
    model: r.name,
    version: r.version,
    rows: r.rows,
    bytes: r.input.byteLength,
    ...(r.deadline !== undefined ? { deadline: r.deadline } : {}),
  }));
  const h = natsHeaders();
  h.set(NATS_HEADERS.batch, String(requests.length));
  h.set(NATS_HEADERS.items, JSON.stringify(items));
  return {
    headers: h,
    payload: concatBytes(requests.map(r => float32Bytes(r.input))),
  };
}

/**
 * The requests of a batch message, each a request or the {@link WorkerFailure} that refuses it
 * alone; throws a `BAD_COMMAND` failure when the message as a whole cannot be read.
 */
export function decodeInferBatch(
  h: MsgHdrs | undefined,
  data: Uint8Array,
): Array<InferRequest | WorkerFailure> {
  const countHeader = h?.get(NATS_HEADERS.batch) ?? '';
  const count = /^\d{1,4}$/.test(countHeader) ? Number(countHeader) : NaN;
  const items = jsonHeader(h, NATS_HEADERS.items);
  if (
    !(count >= 2 && count <= MAX_BATCH_REQUESTS) ||
    !Array.isArray(items) ||
    items.length !== count
  ) {
    throw new WorkerFailure(
      'BAD_COMMAND',
      `A batch message needs the header ${NATS_HEADERS.batch} (2 to ${MAX_BATCH_REQUESTS}) and ${NATS_HEADERS.items}, a JSON array of that many { model, version, rows, bytes, deadline? }`,
    );
  }
  const requests: Array<InferRequest | WorkerFailure> = [];
  let offset = 0;
  for (const [i, item] of items.entries()) {
    const bytes = isRecord(item) ? item.bytes : undefined;
    if (
      typeof bytes !== 'number' ||
      !Number.isSafeInteger(bytes) ||
      bytes < 0 ||
      offset + bytes > data.byteLength
    ) {
      throw new WorkerFailure(
        'BAD_COMMAND',
        `${NATS_HEADERS.items}[${i}].bytes must be a byte count within the ${data.byteLength}-byte payload`,
      );
    }
    try {
      const { model, version, rows, deadline } = item as Record<
        string,
        unknown
      >;
      const where = `${NATS_HEADERS.items}[${i}]`;
      requests.push(
        checkedRequest(
          { name: model, version, rows, deadline },
          { rows, deadline },
          data.subarray(offset, offset + bytes),
          {
            request: where,
            names: 'a model and a version',
            rows: `${where}.rows`,
            payload: `${where}'s input`,
            deadline: `${where}.deadline`,
          },
        ),
      );
    } catch (error) {
      requests.push(
        error instanceof WorkerFailure
          ? error
          : new WorkerFailure('BAD_COMMAND', String(error)),
      );
    }
    offset += bytes;
  }
  if (offset !== data.byteLength) {
    throw new WorkerFailure(
      'BAD_COMMAND',
      `The payload has ${data.byteLength} bytes, the batch's ${NATS_HEADERS.items} say ${offset}`,
    );
  }
  return requests;
}

/** Headers and payload of the reply to a batch message: each request's reply or failure, in order. */
export function encodeInferBatchReply(
  results: Array<InferReply | WorkerFailure>,
): { headers: MsgHdrs; payload: Uint8Array } {
  const items: Array<
    InferReplyMeta | { error: { code: string; message: string } }
  > = [];
  const parts: Uint8Array[] = [];
  for (const result of results) {
    if (result instanceof WorkerFailure) {
      items.push({ error: result.toJSON() });
      continue;
    }
    const entries = Object.entries(result.outputs);
    items.push(replyMeta(result, entries));
    for (const [, t] of entries) parts.push(float32Bytes(t.data));
  }
  const h = natsHeaders();
  h.set(NATS_HEADERS.items, JSON.stringify(items));
  return { headers: h, payload: concatBytes(parts) };
}

/**
 * The replies in the answer to a batch message of `count` requests, each a reply or the failure of
 * that request; throws a {@link WorkerFailure} when the whole message failed or cannot be read.
 */
export function decodeInferBatchReply(
  h: MsgHdrs | undefined,
  data: Uint8Array,
  count: number,
): Array<InferReply | WorkerFailure> {
  const failure = failureInHeaders(h);
  if (failure) throw failure;
  const items = jsonHeader(h, NATS_HEADERS.items);
  if (!Array.isArray(items) || items.length !== count) {
    throw new WorkerFailure(
      'INTERNAL',
      `The worker's reply to ${count} requests has no readable ${NATS_HEADERS.items} header of ${count} entries`,
    );
  }
  const results: Array<InferReply | WorkerFailure> = [];
  let offset = 0;
  for (const item of items) {
    if (isRecord(item) && item.error !== undefined) {
      results.push(
        failureFromWire(item.error, 'The worker refused this request'),
      );
      continue;
    }
    const { reply, end } = readReply(item, data, offset);
    results.push(reply);
    offset = end;
  }
  if (offset !== data.byteLength) {
    throw new WorkerFailure(
      'INTERNAL',
      `The worker's reply has ${data.byteLength} bytes, its outputs' dimensions say ${offset}`,
    );
  }
  return results;
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
    ].every(isOptionalNumber) ||
    (value.accepts !== undefined &&
      !(
        Array.isArray(value.accepts) &&
        value.accepts.every(a => typeof a === 'string')
      ))
  ) {
    return undefined;
  }
  return value as unknown as HeartbeatMessage;
}
