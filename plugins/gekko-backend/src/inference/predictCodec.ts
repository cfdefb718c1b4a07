import { InputError } from '@backstage/errors';
import {
  MAX_PREDICT_VALUES,
  modelVersionName,
  parseInput,
  PredictRequest,
  predictRequestSchema,
  PredictResponse,
} from '@gekko/plugin-gekko-common';
import { z } from 'zod';
import type { AuthorizeAttempt } from '../service/AccessGuard';
import { HttpError } from '../service/http';
import type { GatewayResult } from './InferenceGateway';

/*
 * The predict bodies, in and out, JSON or binary float32: one codec for both servers of the predict
 * route (the portal's Express route and the inference data plane).
 */

/**
 * What a predict caller attempts, checked against `gekko.inference.invoke` on both servers: an
 * ALLOW is cached (see {@link AuthorizeAttempt.cacheable}), a denial is a 403 and an audit record.
 */
export const PREDICT_ATTEMPT: AuthorizeAttempt = {
  action: 'inference.invoke',
  target: null,
  what: 'run models through the inference gateway',
  cacheable: true,
};

/** Largest predict body, JSON or binary. */
export const PREDICT_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

const shapeHeader = /^\s*\d+(\s*[,x]\s*\d+)+\s*$/;

/** `{ inputs: number[][] }` with at least one row and finite numbers only, and no other field. */
function isPlainRows(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return false;
  }
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'inputs') return false;
  const rows = (body as { inputs: unknown }).inputs;
  if (!Array.isArray(rows) || rows.length === 0) return false;
  for (const row of rows) {
    if (!Array.isArray(row)) return false;
    for (const value of row) {
      if (typeof value !== 'number' || !Number.isFinite(value)) return false;
    }
  }
  return true;
}

/** A predict request as either HTTP server read it. */
export interface PredictHttpInput {
  /** Whether the body is `application/octet-stream` float32 (else JSON). */
  binary: boolean;
  header(name: string): string | undefined;
  /** The parsed JSON value, or the raw bytes of a binary body. */
  body: unknown;
}

/** Parses the predict body (JSON or binary float32) into rows of float32 features. */
export function readPredictBody(req: PredictHttpInput): {
  rows: number;
  featureShape: number[];
  input: Float32Array;
  version?: string;
  deadlineMs?: number;
} {
  if (req.binary) {
    const header = req.header('x-gekko-shape');
    if (!header || !shapeHeader.test(header)) {
      throw new InputError(
        'x-gekko-shape: required with a binary body, as rows,features (e.g. 64,120)',
      );
    }
    const shape = header.split(/[,x]/).map(d => Number(d.trim()));
    if (shape.some(d => d < 1 || !Number.isSafeInteger(d))) {
      throw new InputError(
        `x-gekko-shape: every dimension must be a positive integer, got ${header}`,
      );
    }
    const values = shape.reduce((a, b) => a * b, 1);
    const body = req.body as Buffer;
    if (!Buffer.isBuffer(body) || body.length !== values * 4) {
      throw new InputError(
        `body: shape ${shape.join('x')} needs ${
          values * 4
        } bytes of little-endian float32, got ${
          Buffer.isBuffer(body) ? body.length : 0
        }`,
      );
    }
    const input = new Float32Array(values);
    new Uint8Array(input.buffer).set(body);
    const deadline = req.header('x-gekko-deadline-ms');
    const version = req.header('x-gekko-version');
    const extras = parseInput(
      z
        .object({
          version: modelVersionName.optional(),
          deadlineMs: z.coerce.number().int().min(1).max(60_000).optional(),
        })
        .strict(),
      {
        ...(version !== undefined ? { version } : {}),
        ...(deadline !== undefined ? { deadlineMs: deadline } : {}),
      },
      'predict headers',
    );
    return { rows: shape[0], featureShape: shape.slice(1), input, ...extras };
  }

  // The common body, rows of numbers and nothing else, is checked by hand: zod walking every value
  // costs more than a batch-1 inference. Anything else (and every error) goes through the schema,
  // whose messages name the field.
  const body = isPlainRows(req.body)
    ? (req.body as PredictRequest)
    : parseInput(predictRequestSchema, req.body, 'predict request');
  if (body.inputs) {
    const width = body.inputs[0].length;
    const ragged = body.inputs.findIndex(row => row.length !== width);
    if (ragged >= 0) {
      throw new InputError(
        `inputs.${ragged}: has ${body.inputs[ragged].length} values, but row 0 has ${width}; every row needs the same number`,
      );
    }
    if (width === 0) {
      throw new InputError('inputs.0: a row needs at least one value');
    }
    if (body.inputs.length * width > MAX_PREDICT_VALUES) {
      throw new HttpError(
        413,
        'PayloadTooLargeError',
        `inputs: ${
          body.inputs.length * width
        } values is more than ${MAX_PREDICT_VALUES} in one request`,
      );
    }
    const input = new Float32Array(body.inputs.length * width);
    body.inputs.forEach((row, i) => input.set(row, i * width));
    return {
      rows: body.inputs.length,
      featureShape: [width],
      input,
      version: body.version,
      deadlineMs: body.deadlineMs,
    };
  }
  const shape = body.shape!;
  const values = shape.reduce((a, b) => a * b, 1);
  if (body.data!.length !== values) {
    throw new InputError(
      `data: shape [${shape.join(', ')}] needs ${values} values, got ${
        body.data!.length
      }`,
    );
  }
  if (shape.length < 2) {
    throw new InputError(
      `shape: must be [rows, features…], got [${shape.join(', ')}]`,
    );
  }
  return {
    rows: shape[0],
    featureShape: shape.slice(1),
    input: Float32Array.from(body.data!),
    version: body.version,
    deadlineMs: body.deadlineMs,
  };
}

/** The JSON answer of a predict request. */
export function toResponse(result: GatewayResult): PredictResponse {
  const outputs: PredictResponse['outputs'] = {};
  for (const [name, tensor] of Object.entries(result.outputs)) {
    outputs[name] = { shape: tensor.dims, data: Array.from(tensor.data) };
  }
  return {
    model: result.model,
    version: result.version,
    worker: result.worker,
    pool: result.pool,
    provider: result.provider,
    attempts: result.attempts,
    outputs,
    latencyMs: Math.round(result.latencyMs * 1000) / 1000,
  };
}

/** The binary answer of a predict request: float32 outputs back to back, described in headers. */
export function toBinaryResponse(result: GatewayResult): {
  headers: Record<string, string>;
  body: Buffer;
} {
  const tensors = Object.entries(result.outputs);
  const total = tensors.reduce((n, [, t]) => n + t.data.length, 0);
  const out = new Float32Array(total);
  let offset = 0;
  for (const [, t] of tensors) {
    out.set(t.data, offset);
    offset += t.data.length;
  }
  return {
    headers: {
      'content-type': 'application/octet-stream',
      'x-gekko-outputs': JSON.stringify(
        tensors.map(([n, t]) => ({ name: n, shape: t.dims })),
      ),
      'x-gekko-model': `${result.model}@${result.version}`,
      'x-gekko-worker': result.worker,
      'x-gekko-provider': result.provider,
    },
    body: Buffer.from(out.buffer),
  };
}

/** What both predict servers say about a body that is too large. */
export const PREDICT_TOO_LARGE = `The request body is larger than the ${
  PREDICT_BODY_LIMIT_BYTES / 1024 / 1024
} MiB limit; split the batch`;

/** The 415 both predict servers give a body that is neither JSON nor float32. */
export function unsupportedPredictType(contentType: string | undefined) {
  return new HttpError(
    415,
    'UnsupportedMediaTypeError',
    `Send the inputs as application/json, or as application/octet-stream float32 with an x-gekko-shape header (got ${
      contentType || 'no Content-Type'
    })`,
  );
}
