import { LoggerService } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import express from 'express';
import Router from 'express-promise-router';
import { assignRequestId, errorHandler, jsonBody } from './http';

/** What a capability folder's factory hands the plugin: its routes, and how it stops. */
export interface GekkoCapability {
  /** Routes behind the shared JSON body parser (bodies up to 64 KiB). */
  router?: express.Router;
  /** Routes that read their own bodies (predict: binary, up to 16 MiB); mounted before the parser. */
  ownBodyRouter?: express.Router;
  /** Stops what the capability started; run on shutdown, last capability first. */
  stop?(): Promise<void>;
}

/**
 * The gekko backend's one router: every capability's routes behind shared request ids, input and
 * error handling, so every error body has Backstage's shape and no answer carries a stack.
 */
export function createRouter(options: {
  logger: LoggerService;
  capabilities: GekkoCapability[];
  /** Measures every request (latency by route, outcome), first of all. */
  measure?: express.RequestHandler;
  /**
   * Holds mutating requests to their caller's rate limit: behind the predict route (limited on its
   * own) and before the JSON parser, so that a refused request costs no body parsing.
   */
  limitMutations?: express.RequestHandler;
}): express.Router {
  const { capabilities } = options;
  const router = Router();
  if (options.measure) router.use(options.measure);
  router.use(assignRequestId);
  // Express answers OPTIONS by itself, with a matching path's methods and no credentials asked;
  // the gekko API has no OPTIONS route (the root router's CORS answers preflights before this).
  router.use((req, _res, next) =>
    next(
      req.method === 'OPTIONS'
        ? new NotFoundError(`The gekko API has no route OPTIONS ${req.path}`)
        : undefined,
    ),
  );
  for (const c of capabilities)
    if (c.ownBodyRouter) router.use(c.ownBodyRouter);
  if (options.limitMutations) router.use(options.limitMutations);
  router.use(...jsonBody());
  for (const c of capabilities) if (c.router) router.use(c.router);
  router.use((req, _res, next) =>
    next(
      new NotFoundError(`The gekko API has no route ${req.method} ${req.path}`),
    ),
  );
  router.use(errorHandler(options.logger));
  return router;
}
