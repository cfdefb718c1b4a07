import { NotFoundError } from '@backstage/errors';
import {
  deployModelVersionSchema,
  gekkoInferenceInvokePermission,
  gekkoModelManagePermission,
  gpuPoolEntityRef,
  modelTrafficSchema,
  modelVersionName,
  parseInput,
  registerModelVersionSchema,
  resourceName,
} from '@gekko/plugin-gekko-common';
import express, { RequestHandler } from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { AccessGuard } from '../service/AccessGuard';
import type { CallerRateLimits } from '../service/CallerRateLimits';
import { explainBodyErrors } from '../service/http';
import { InferenceGateway } from './InferenceGateway';
import { ModelPlacement } from './ModelPlacement';
import { ModelRegistry } from './ModelRegistry';
import {
  PREDICT_ATTEMPT,
  PREDICT_BODY_LIMIT_BYTES,
  PREDICT_TOO_LARGE,
  readPredictBody,
  toBinaryResponse,
  toResponse,
  unsupportedPredictType,
} from './predictCodec';

const modelName = resourceName('model');
const versionName = modelVersionName;
const nameParams = z.object({ name: modelName });
const versionParams = z.object({ name: modelName, version: versionName });
const listQuery = z.object({ pool: modelName.optional() }).strict();

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
  /** The per-caller predict limit, checked between authentication and authorization. */
  limits?: CallerRateLimits;
}): express.Router {
  const { guard, gateway, limits } = options;
  const router = Router();

  router.post(
    '/inference/models/:name/predict',
    async (req, _res, next) => {
      // Authenticate, rate-limit and authorize before reading a body of up to 16 MiB.
      const caller = await guard.caller(req);
      const path = req.originalUrl.split('?')[0];
      await limits?.admit('predict', caller, {
        method: req.method,
        path,
        server: 'portal',
      });
      await guard.authorizeCaller(
        caller,
        gekkoInferenceInvokePermission,
        PREDICT_ATTEMPT,
        { method: req.method, path },
      );
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
      // Written directly rather than with res.json: Express' send would hash the body for an ETag
      // and check freshness, which a POST answer never uses, on every predict.
      const json = JSON.stringify(toResponse(result));
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(json),
      });
      res.end(json);
    },
  );
  return router;
}

/** Routes of the model registry: list, register, deploy, undeploy, traffic split. */
export function createModelsRouter(options: {
  guard: AccessGuard;
  registry: ModelRegistry;
  placement: ModelPlacement;
  dataPlaneUrl?: string;
}): express.Router {
  const { guard, registry, placement, dataPlaneUrl } = options;
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
    res.json({ items: registry.list(pool).map(v => placement.describe(v)) });
  });

  router.get('/inference/models/:name', async (req, res) => {
    await guard.caller(req);
    const { name } = parseInput(nameParams, req.params, 'model');
    res.json({
      items: registry.versionsOf(name).map(v => placement.describe(v)),
    });
  });

  router.get('/inference/models/:name/versions/:version', async (req, res) => {
    await guard.caller(req);
    const { name, version } = parseInput(
      versionParams,
      req.params,
      'model version',
    );
    res.json(placement.describe(registry.get(name, version)));
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
    res
      .status(201)
      .json(placement.describe(await registry.register(caller, spec)));
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
      const deployed = await registry.deploy(caller, name, version, body);
      const loadErrors = await placement.converge(deployed);
      res.json({
        ...placement.describe(deployed),
        ...(loadErrors.length ? { loadErrors } : {}),
      });
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
      const undeployed = await registry.undeploy(caller, name, version);
      await placement.converge(undeployed);
      res.json(placement.describe(undeployed));
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
    const versions = await registry.setTraffic(caller, name, traffic);
    res.json({ items: versions.map(v => placement.describe(v)) });
  });

  return router;
}
