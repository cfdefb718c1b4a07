import type { RequestHandler } from 'express';
import { Counter, Histogram, Registry } from 'prom-client';
import { LATENCY_BUCKETS, TRADING_METRICS } from '@gekko/plugin-gekko-common';

/**
 * The portal's own API metrics, which the Gekko Portal component is judged on (API p99 < 50 ms,
 * availability): the latency of every gekko route by route and status, and requests by outcome (a
 * 5xx is an error; a 4xx is the caller's).
 */
export function apiMetrics(registry: Registry): RequestHandler {
  const seconds = new Histogram({
    name: TRADING_METRICS.apiLatency,
    help: 'Latency of the gekko API by route, method and status code',
    labelNames: ['route', 'method', 'code'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const requests = new Counter({
    name: TRADING_METRICS.requests,
    help: 'Requests to the gekko API by outcome: error for a 5xx, success otherwise',
    labelNames: ['outcome'],
    registers: [registry],
  });
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const route = req.route?.path
        ? `${req.baseUrl}${req.route.path}`
        : 'unmatched';
      seconds.observe(
        { route, method: req.method, code: String(res.statusCode) },
        Number(process.hrtime.bigint() - start) / 1e9,
      );
      requests.inc({ outcome: res.statusCode >= 500 ? 'error' : 'success' });
    });
    next();
  };
}

/** Counts every committed audit record, by outcome (`gekko_audit_appends_total`). */
export function countAuditAppends(
  registry: Registry,
  trail: { onCommitted(listener: (record: { outcome: string }) => void): void },
): void {
  const appends = new Counter({
    name: 'gekko_audit_appends_total',
    help: 'Audit records committed to the hash-chained trail, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  trail.onCommitted(record => appends.inc({ outcome: record.outcome }));
}

/**
 * Counts requests refused by a rate limit (`gekko_rate_limited_total`), by limit (`predict`,
 * `mutations`, `failedAuthentications`) and server (`portal`, `data-plane`). Not by route: a
 * mutation is refused before routing, and its raw path would let callers grow the label set.
 */
export function countRateLimited(
  registry: Registry,
): (labels: { limit: string; server: string }) => void {
  const refused = new Counter({
    name: 'gekko_rate_limited_total',
    help: 'Requests refused with 429 by a rate limit, by limit and server',
    labelNames: ['limit', 'server'],
    registers: [registry],
  });
  return labels => refused.inc(labels);
}
