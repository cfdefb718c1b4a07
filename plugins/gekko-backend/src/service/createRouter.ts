import { LoggerService } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import express from 'express';
import Router from 'express-promise-router';
import { createAuditRouter } from '../audit/router';
import { AuditTrail } from '../audit/AuditTrail';
import { createPoolsRouter } from '../pools/router';
import { GpuPoolService } from '../pools/GpuPoolService';
import { AccessGuard } from './AccessGuard';
import { assignRequestId, errorHandler, jsonBody } from './http';

/** The gekko backend's one router: each capability's routes, behind shared input and error handling. */
export function createRouter(options: {
  logger: LoggerService;
  guard: AccessGuard;
  audit: AuditTrail;
  pools: GpuPoolService;
}): express.Router {
  const router = Router();
  router.use(assignRequestId);
  router.use(...jsonBody());
  router.use(createPoolsRouter(options));
  router.use(createAuditRouter(options));
  router.use((req, _res, next) =>
    next(
      new NotFoundError(`The gekko API has no route ${req.method} ${req.path}`),
    ),
  );
  router.use(errorHandler(options.logger));
  return router;
}
