import { InputError, NotFoundError } from '@backstage/errors';
import {
  deployModelVersionSchema,
  gekkoInferenceInvokePermission,
  gekkoModelManagePermission,
  gpuPoolEntityRef,
  MAX_PREDICT_VALUES,
  modelTrafficSchema,
  modelVersionName,
  parseInput,
  resourceName,
  PredictRequest,
  predictRequestSchema,
  PredictResponse,
  registerModelVersionSchema,
} from '@gekko/plugin-gekko-common';
import express, { RequestHandler } from 'express';
import { explainBodyErrors, HttpError } from '../service/http';
import Router from 'express-promise-router';
import { z } from 'zod';
import { AccessGuard } from '../service/AccessGuard';
import { GatewayResult, InferenceGateway } from './InferenceGateway';
import { ModelService } from './ModelService';

/** Largest predict body, JSON or binary. */
export const PREDICT_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

const modelName = resourceName('model');
const versionName = modelVersionName;
const nameParams = z.object({ name: modelName });
const versionParams = z.object({ name: modelName, version: versionName });
const listQuery = z.object({ pool: modelName.optional() }).strict();

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
          version: versionName.optional(),
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

/** Body parsers of the predict route: JSON or binary float32, up to 16 MiB, with errors that say what to send. */
function predictBody(): RequestHandler[] {
  const json = express.json({ limit: PREDICT_BODY_LIMIT_BYTES, strict: true });
  const raw = express.raw({
    limit: PREDICT_BODY_LIMIT_BYTES,
    type: 'application/octet-stream',
  });
  const requireType: RequestHandler = (req, _res, next) => {
    if (req.is('application/json') || req.is('application/octet-stream')) {
      next();
      return;
    }
    next(unsupportedPredictType(req.header('content-type')));
  };
  const explain = explainBodyErrors(PREDICT_TOO_LARGE);
  return [requireType, json, raw, explain];
}

/**
 * The predict route, mounted before the shared JSON parser because it takes larger and binary bodies.
 */
export function createPredictRouter(options: {
  guard: AccessGuard;
  gateway: InferenceGateway;
}): express.Router {
  const { guard, gateway } = options;
  const router = Router();

  router.post(
    '/inference/models/:name/predict',
    async (req, _res, next) => {
      // Authenticate and authorize before reading a body of up to 16 MiB.
      await guard.authorize(req, gekkoInferenceInvokePermission, {
        action: 'inference.invoke',
        target: null,
        what: 'run models through the inference gateway',
        cacheable: true,
      });
      next();
    },
    ...predictBody(),
    async (req, res) => {
      const { name } = parseInput(nameParams, req.params, 'model');
      const body = readPredictBody({
        binary: !!req.is('application/octet-stream'),
        header: h => req.header(h),
        body: req.body,
      });
      const result = await gateway.predict({ model: name, ...body });
      if (
        req.accepts(['application/json', 'application/octet-stream']) ===
        'application/octet-stream'
      ) {
        const binary = toBinaryResponse(result);
        res.set(binary.headers).end(binary.body);
        return;
      }
      res.json(toResponse(result));
    },
  );
  return router;
}

/** Routes of the model registry: list, register, deploy, undeploy, traffic split. */
export function createModelsRouter(options: {
  guard: AccessGuard;
  models: ModelService;
  dataPlaneUrl?: string;
}): express.Router {
  const { guard, models, dataPlaneUrl } = options;
  const router = Router();

  // Where the predict route is also served without Backstage's HTTP stack (see InferenceDataPlane).
  router.get('/inference/data-plane', async (req, res) => {
    await guard.caller(req);
    if (!dataPlaneUrl) {
      throw new NotFoundError(
        'The inference data plane is off; set gekko.inference.dataPlane.port to turn it on. The portal route serves predict meanwhile',
      );
    }
    res.json({
      url: dataPlaneUrl,
      predictPath: '/api/gekko/inference/models/{name}/predict',
    });
  });

  router.get('/inference/models', async (req, res) => {
    await guard.caller(req);
    const { pool } = parseInput(listQuery, req.query, 'model query');
    res.json({ items: models.list(pool) });
  });

  router.get('/inference/models/:name', async (req, res) => {
    await guard.caller(req);
    const { name } = parseInput(nameParams, req.params, 'model');
    res.json({
      items: models.versionsOf(name).map(v => models.get(v.name, v.version)),
    });
  });

  router.get('/inference/models/:name/versions/:version', async (req, res) => {
    await guard.caller(req);
    const { name, version } = parseInput(
      versionParams,
      req.params,
      'model version',
    );
    res.json(models.get(name, version));
  });

  router.post('/inference/models', async (req, res) => {
    const pools = Array.isArray(req.body?.pools) ? req.body.pools : [];
    const caller = await guard.authorize(req, gekkoModelManagePermission, {
      action: 'model.register',
      target:
        typeof pools[0] === 'string' && modelName.safeParse(pools[0]).success
          ? gpuPoolEntityRef(pools[0])
          : null,
      what: 'register model versions',
    });
    const spec = parseInput(
      registerModelVersionSchema,
      req.body,
      'model version',
    );
    res.status(201).json(await models.register(caller, spec, req));
  });

  router.put(
    '/inference/models/:name/versions/:version/deployment',
    async (req, res) => {
      const { name, version } = parseInput(
        versionParams,
        req.params,
        'model version',
      );
      const caller = await guard.authorize(req, gekkoModelManagePermission, {
        action: 'model.deploy',
        target: null,
        what: 'deploy model versions',
      });
      const body = parseInput(
        deployModelVersionSchema,
        req.body ?? {},
        'deployment',
      );
      res.json(await models.deploy(caller, name, version, body, req));
    },
  );

  router.delete(
    '/inference/models/:name/versions/:version/deployment',
    async (req, res) => {
      const { name, version } = parseInput(
        versionParams,
        req.params,
        'model version',
      );
      const caller = await guard.authorize(req, gekkoModelManagePermission, {
        action: 'model.undeploy',
        target: null,
        what: 'undeploy model versions',
      });
      res.json(await models.undeploy(caller, name, version, req));
    },
  );

  router.put('/inference/models/:name/traffic', async (req, res) => {
    const { name } = parseInput(nameParams, req.params, 'model');
    const caller = await guard.authorize(req, gekkoModelManagePermission, {
      action: 'model.traffic',
      target: null,
      what: 'split traffic between model versions',
    });
    const traffic = parseInput(modelTrafficSchema, req.body, 'traffic split');
    res.json({ items: await models.setTraffic(caller, name, traffic, req) });
  });

  return router;
}
