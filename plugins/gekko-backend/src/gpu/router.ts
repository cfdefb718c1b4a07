import {
  gekkoPoolManagePermission,
  gpuPoolEntityRef,
  parseInput,
  resourceName,
  UTILIZATION_RANGES,
} from '@gekko/plugin-gekko-common';
import { NotFoundError } from '@backstage/errors';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { InferenceMetrics } from '../monitoring/InferenceMetrics';
import { AccessGuard } from '../service/AccessGuard';
import { AuditTrail } from '../audit/AuditTrail';
import { EmbeddedWorkers } from './EmbeddedWorkers';
import { GpuManager } from './GpuManager';
import { TelemetryHistory } from './TelemetryHistory';

const poolName = resourceName('pool');

const workersQuery = z.object({ pool: poolName.optional() }).strict();
const utilizationQuery = z
  .object({
    pool: poolName.optional(),
    range: z.enum(UTILIZATION_RANGES).default('15m'),
  })
  .strict();

/** Routes of the GPU manager: live workers, pool capacity, utilization history, Prometheus metrics. */
export function createGpuRouter(options: {
  guard: AccessGuard;
  manager: GpuManager;
  history: TelemetryHistory;
  metrics: InferenceMetrics;
  audit: AuditTrail;
  embedded?: EmbeddedWorkers;
  /** Config `gekko.gpu.chaos.enabled`: allows crashing embedded workers through the API. */
  chaos?: boolean;
}): express.Router {
  const { guard, manager, history, metrics, audit, embedded, chaos } = options;
  const router = Router();

  router.get('/gpu/workers', async (req, res) => {
    await guard.caller(req);
    const { pool } = parseInput(workersQuery, req.query, 'worker query');
    res.json({ items: manager.statuses(pool) });
  });

  router.get('/gpu/workers/:id', async (req, res) => {
    await guard.caller(req);
    const status = manager.statuses().find(w => w.id === req.params.id);
    if (!status) {
      throw new NotFoundError(
        `No worker ${req.params.id} is registered; it may have left (GET /gpu/workers lists them)`,
      );
    }
    res.json(status);
  });

  // Chaos testing, off unless gekko.gpu.chaos.enabled: an embedded worker dies as a crash would, so
  // failover can be shown on a running portal. Needs gekko.pool.manage and is audited.
  router.post('/gpu/workers/:id/crash', async (req, res) => {
    const worker = manager.get(req.params.id);
    const caller = await guard.authorize(req, gekkoPoolManagePermission, {
      action: 'worker.crash',
      target: worker ? gpuPoolEntityRef(worker.pool) : null,
      what: 'crash inference workers',
    });
    if (!chaos || !embedded) {
      throw new NotFoundError(
        'Crashing workers is a chaos-testing tool and is off; set gekko.gpu.chaos.enabled to turn it on',
      );
    }
    if (!worker || !embedded.has(worker.id)) {
      throw new NotFoundError(
        `No embedded worker ${req.params.id} is running (GET /gpu/workers lists them)`,
      );
    }
    await audit.append(
      {
        actor: caller.actor,
        action: 'worker.crash',
        target: gpuPoolEntityRef(worker.pool),
        outcome: 'success',
        requestId: caller.requestId,
        details: { worker: worker.id },
      },
      caller,
    );
    embedded.crash(worker.id).catch(() => {});
    res.status(202).json({ crashing: worker.id });
  });

  router.get('/gpu/capacity', async (req, res) => {
    await guard.caller(req);
    res.json({ items: manager.capacity() });
  });

  router.get('/gpu/utilization', async (req, res) => {
    await guard.caller(req);
    const { pool, range } = parseInput(
      utilizationQuery,
      req.query,
      'utilization query',
    );
    res.json(await history.query(range, pool));
  });

  // Prometheus scrapes with a static token (backend.auth.externalAccess), as every route authenticates.
  router.get('/metrics', async (req, res) => {
    await guard.caller(req);
    const { contentType, body } = await metrics.render();
    res.setHeader('content-type', contentType);
    res.send(body);
  });

  return router;
}
