import { durationSeconds, parseInput } from '@gekko/plugin-gekko-common';
import { InputError } from '@backstage/errors';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { AccessGuard } from '../service/AccessGuard';
import { normalizeEntityRef } from '../service/entityRefs';
import type { TradingHealthService } from './createTradingCapability';

const duration = (field: string, maxSeconds: number) =>
  z
    .string()
    .regex(/^\d+(s|m|h|d)$/, 'must be a duration such as 30s, 5m, 1h or 1d')
    .refine(
      v =>
        !/^\d+(s|m|h|d)$/.test(v) ||
        (durationSeconds(v) > 0 && durationSeconds(v) <= maxSeconds),
      `${field} must be over 0 and at most ${maxSeconds / 86_400} days`,
    );

const entityQuery = z.object({ entityRef: z.string().max(300) }).strict();
const seriesQuery = z
  .object({
    entityRef: z.string().max(300),
    slo: z.string().max(63),
    range: duration('range', 3 * 86_400).default('1h'),
    step: duration('step', 86_400).optional(),
  })
  .strict();
const servicesQuery = z
  .object({ system: z.string().max(300).optional() })
  .strict();
const alertsQuery = z
  .object({
    entityRef: z.string().max(300).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();

/** Most points one chart asks for. */
const MAX_POINTS = 1_500;

/** Routes of trading health: each service's SLOs, venues and alerts, the SLI series, the roll-up. */
export function createTradingRouter(options: {
  guard: AccessGuard;
  health: TradingHealthService;
}): express.Router {
  const { guard, health } = options;
  const router = Router();

  router.get('/health/services', async (req, res) => {
    await guard.caller(req);
    const { system } = parseInput(servicesQuery, req.query, 'services query');
    const systemRef = system ? normalizeEntityRef(system, 'system') : undefined;
    res.json({ items: await health.summaries(systemRef) });
  });

  router.get('/health', async (req, res) => {
    await guard.caller(req);
    const query = parseInput(entityQuery, req.query, 'health query');
    res.json(
      await health.get(normalizeEntityRef(query.entityRef, 'entityRef')),
    );
  });

  router.get('/health/series', async (req, res) => {
    await guard.caller(req);
    const query = parseInput(seriesQuery, req.query, 'series query');
    const rangeSeconds = durationSeconds(query.range);
    const stepSeconds = query.step
      ? durationSeconds(query.step)
      : Math.max(5, Math.ceil(rangeSeconds / 120));
    if (stepSeconds < 5) {
      throw new InputError('Invalid series query: step: must be at least 5s');
    }
    if (rangeSeconds / stepSeconds > MAX_POINTS) {
      throw new InputError(
        `Invalid series query: step: ${query.step} gives ${Math.ceil(
          rangeSeconds / stepSeconds,
        )} points over ${
          query.range
        }, at most ${MAX_POINTS} are drawn; use a step of at least ${Math.ceil(
          rangeSeconds / MAX_POINTS,
        )}s`,
      );
    }
    const entityRef = normalizeEntityRef(query.entityRef, 'entityRef');
    res.json({
      entityRef,
      slo: query.slo,
      range: query.range,
      stepSeconds,
      points: await health.series(
        entityRef,
        query.slo,
        rangeSeconds * 1000,
        stepSeconds * 1000,
      ),
    });
  });

  router.get('/health/alerts', async (req, res) => {
    await guard.caller(req);
    const query = parseInput(alertsQuery, req.query, 'alerts query');
    const entityRef = query.entityRef
      ? normalizeEntityRef(query.entityRef, 'entityRef')
      : undefined;
    res.json({ items: await health.alerts(entityRef, query.limit) });
  });

  return router;
}
