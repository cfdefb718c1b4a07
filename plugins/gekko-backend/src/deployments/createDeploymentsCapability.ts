import { LoggerService } from '@backstage/backend-plugin-api';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { SignalsService } from '@backstage/plugin-signals-node';
import {
  deploymentSignalChannel,
  FINAL_DEPLOYMENT_STATES,
} from '@gekko/plugin-gekko-common';
import { Knex } from 'knex';
import { Counter, Registry } from 'prom-client';
import { AuditedChanges } from '../audit/AuditedChanges';
import { AccessGuard } from '../service/AccessGuard';
import { GekkoCapability } from '../service/createRouter';
import { DeploymentOrchestrator } from './DeploymentOrchestrator';
import { DeploymentStore } from './DeploymentStore';
import { DeploymentTargets } from './DeploymentTargets';
import { createDeploymentsRouter } from './router';

/**
 * Deployments: the orchestrator over the targets modules registered (and the built-in model target),
 * its routes, and the deployments in flight picked up again on start.
 */
export async function createDeploymentsCapability(options: {
  db: Knex;
  guard: AccessGuard;
  changes: AuditedChanges;
  logger: LoggerService;
  targets: DeploymentTargets;
  /** Where a deployment's entity is looked up. */
  catalog: CatalogService;
  /** `gekko.deployments.leaseDuration`; defaults to 15 s. */
  leaseMs?: number;
  /** Pushes each change of a deployment to the browsers showing its entity. */
  signals?: SignalsService;
  /** Where `gekko_deployments_total` (deployments ended, by outcome) is counted. */
  registry?: Registry;
}) {
  const ended = options.registry
    ? new Counter({
        name: 'gekko_deployments_total',
        help: 'Deployments that ended, by outcome: succeeded, rolled_back or failed',
        labelNames: ['outcome'],
        registers: [options.registry],
      })
    : undefined;
  const { guard, targets, catalog } = options;
  const orchestrator = new DeploymentOrchestrator(
    new DeploymentStore(options.db),
    targets,
    options.changes,
    {
      logger: options.logger,
      leaseMs: options.leaseMs,
      // Broadcast: deployments are readable by every signed-in user, and the message only says
      // which deployment changed and how; the page reads the rest through the API.
      onChange: change => {
        if (
          change.kind === 'state' &&
          FINAL_DEPLOYMENT_STATES.includes(change.state)
        ) {
          ended?.inc({ outcome: change.state });
        }
        return options.signals?.publish({
          recipients: { type: 'broadcast' },
          channel: deploymentSignalChannel(change.entityRef),
          message: change,
        });
      },
    },
  );
  await orchestrator.start();
  const capability: GekkoCapability = {
    router: createDeploymentsRouter({
      guard,
      targets,
      orchestrator,
      catalog,
    }),
    stop: () => orchestrator.stop(),
  };
  return { orchestrator, ...capability };
}
