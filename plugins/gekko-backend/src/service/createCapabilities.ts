import {
  AuditorService,
  AuthService,
  DatabaseService,
  HttpAuthService,
  LoggerService,
  PermissionsService,
  RootConfigService,
} from '@backstage/backend-plugin-api';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import type { EventsService } from '@backstage/plugin-events-node';
import type { NotificationService } from '@backstage/plugin-notifications-node';
import type { SignalsService } from '@backstage/plugin-signals-node';
import { createAuditCapability } from '../audit/createAuditCapability';
import { readGekkoConfig } from '../config/readGekkoConfig';
import { openGekkoDatabase } from '../database/migrations';
import { createDeploymentsCapability } from '../deployments/createDeploymentsCapability';
import { DeploymentTargets } from '../deployments/DeploymentTargets';
import { createGpuCapability } from '../gpu/createGpuCapability';
import { createInferenceCapability } from '../inference/createInferenceCapability';
import { createMonitoring } from '../monitoring/createMonitoring';
import { createPoolsCapability } from '../pools/createPoolsCapability';
import { createTradingCapability } from '../trading/createTradingCapability';
import { createRouter } from './createRouter';

/** The services the gekko backend plugin depends on (its `registerInit` deps). */
export interface GekkoDeps {
  rootConfig: RootConfigService;
  logger: LoggerService;
  database: DatabaseService;
  httpAuth: HttpAuthService;
  auth: AuthService;
  permissions: PermissionsService;
  auditor: AuditorService;
  events: EventsService;
  catalog: CatalogService;
  signals: SignalsService;
  notifications: NotificationService;
}

/**
 * Builds every capability of the gekko backend, in the order they need one another (audit first,
 * as every other one audits; the inference capability before the deployments that target it), and
 * the one router that mounts them. `stop` stops them in the reverse order.
 */
export async function createCapabilities(
  deps: GekkoDeps,
  targets: DeploymentTargets,
) {
  const { logger, auth, events } = deps;
  const config = readGekkoConfig(deps.rootConfig);
  const db = await openGekkoDatabase(deps.database);

  const audit = createAuditCapability({
    db,
    ...deps,
    config: config.audit,
    nats: config.nats,
  });
  const { guard, changes, trail } = audit;
  const shared = { db, logger, guard, changes };
  const { registry, limits, measure } = createMonitoring({
    ...{ trail, logger, rateLimits: config.rateLimits },
  });
  const pools = await createPoolsCapability({
    ...shared,
    events,
    seed: config.gpuPools,
  });
  const gpu = createGpuCapability({
    ...{ ...shared, trail, config, pools, registry },
  });
  const inference = await createInferenceCapability({
    ...shared,
    ...{ auth, events, gpu, pools, limits, config: config.inference },
  });
  await gpu.start(inference);
  targets.add(inference.deploymentTarget);
  const deployments = await createDeploymentsCapability({
    ...{ ...shared, targets, catalog: deps.catalog },
    leaseMs: config.deployments.leaseMs,
    signals: deps.signals,
    registry,
  });
  const trading = await createTradingCapability({
    ...{ db, logger, auth, guard, trail, catalog: deps.catalog },
    config: config.health,
    registry,
    notifications: deps.notifications,
  });

  const capabilities = [audit, pools, gpu, inference, deployments, trading];
  return {
    router: createRouter({
      logger,
      capabilities,
      measure,
      limitMutations: limits.limitMutations(guard),
    }),
    async stop() {
      for (const c of [...capabilities].reverse()) await c.stop?.();
    },
  };
}
