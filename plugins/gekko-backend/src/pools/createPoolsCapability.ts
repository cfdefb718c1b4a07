import { LoggerService } from '@backstage/backend-plugin-api';
import { EventsService } from '@backstage/plugin-events-node';
import { Knex } from 'knex';
import { AuditedChanges } from '../audit/AuditedChanges';
import { AccessGuard } from '../service/AccessGuard';
import { GekkoCapability } from '../service/createRouter';
import { GpuPoolService } from './GpuPoolService';
import { GpuPoolStore } from './GpuPoolStore';
import { createPoolsRouter } from './router';

/** GPU pools: seeded from config on the first start, then managed through the API. */
export async function createPoolsCapability(options: {
  db: Knex;
  guard: AccessGuard;
  changes: AuditedChanges;
  events: EventsService;
  logger: LoggerService;
  /** Config `gekko.gpuPools`. */
  seed: unknown[];
}) {
  const store = new GpuPoolStore(options.db);
  const service = new GpuPoolService(
    store,
    options.changes,
    options.events,
    options.logger,
  );
  await service.seedFromConfig(options.seed);
  const capability: GekkoCapability = {
    router: createPoolsRouter({ pools: service, guard: options.guard }),
  };
  return { store, service, ...capability };
}
