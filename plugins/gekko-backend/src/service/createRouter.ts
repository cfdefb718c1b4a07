import { LoggerService } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import express from 'express';
import Router from 'express-promise-router';
import { createAuditRouter } from '../audit/router';
import { AuditTrail } from '../audit/AuditTrail';
import { createPoolsRouter } from '../pools/router';
import { GpuPoolService } from '../pools/GpuPoolService';
import { EmbeddedWorkers } from '../gpu/EmbeddedWorkers';
import { GpuManager } from '../gpu/GpuManager';
import { createGpuRouter } from '../gpu/router';
import { TelemetryHistory } from '../gpu/TelemetryHistory';
import { InferenceGateway } from '../inference/InferenceGateway';
import { ModelService } from '../inference/ModelService';
import { createModelsRouter, createPredictRouter } from '../inference/router';
import { InferenceMetrics } from '../monitoring/InferenceMetrics';
import { AccessGuard } from './AccessGuard';
import { assignRequestId, errorHandler, jsonBody } from './http';

/** The gekko backend's one router: each capability's routes, behind shared input and error handling. */
export function createRouter(options: {
  logger: LoggerService;
  guard: AccessGuard;
  audit: AuditTrail;
  pools: GpuPoolService;
  manager: GpuManager;
  history: TelemetryHistory;
  metrics: InferenceMetrics;
  models: ModelService;
  gateway: InferenceGateway;
  embedded?: EmbeddedWorkers;
  chaos?: boolean;
  dataPlaneUrl?: string;
}): express.Router {
  const router = Router();
  router.use(assignRequestId);
  // Before the shared JSON parser: predict takes larger bodies, and binary ones.
  router.use(createPredictRouter(options));
  router.use(...jsonBody());
  router.use(createPoolsRouter(options));
  router.use(createAuditRouter(options));
  router.use(createGpuRouter(options));
  router.use(createModelsRouter(options));
  router.use((req, _res, next) =>
    next(
      new NotFoundError(`The gekko API has no route ${req.method} ${req.path}`),
    ),
  );
  router.use(errorHandler(options.logger));
  return router;
}
