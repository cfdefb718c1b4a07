import { LoggerService } from '@backstage/backend-plugin-api';
import { Registry } from 'prom-client';
import type { AuditTrail } from '../audit/AuditTrail';
import type { GekkoRateLimitsConfig } from '../config/readRateLimits';
import { CallerRateLimits } from '../service/CallerRateLimits';
import { apiMetrics, countAuditAppends, countRateLimited } from './ApiMetrics';

/**
 * The registry behind `GET /metrics` (counting from the first audit record on), the per-caller
 * rate limits that count their refusals in it, and the API's request metrics.
 */
export function createMonitoring(options: {
  trail: AuditTrail;
  logger: LoggerService;
  rateLimits: GekkoRateLimitsConfig;
}) {
  const { trail, logger } = options;
  const registry = new Registry();
  countAuditAppends(registry, trail);
  const limits = new CallerRateLimits(options.rateLimits, {
    audit: trail,
    logger,
    countRefusal: countRateLimited(registry),
  });
  return { registry, limits, measure: apiMetrics(registry) };
}
