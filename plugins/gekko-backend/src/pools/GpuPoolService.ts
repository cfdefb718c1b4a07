import { LoggerService } from '@backstage/backend-plugin-api';
import { EventsService } from '@backstage/plugin-events-node';
import {
  GPU_POOL_EVENTS_TOPIC,
  GpuPool,
  GpuPoolChange,
  GpuPoolChangedEvent,
  GpuPoolCreation,
  createGpuPoolSchema,
  gpuPoolEntityRef,
  parseInput,
} from '@gekko/plugin-gekko-common';
import { Knex } from 'knex';
import { AuditContext, STARTUP_CONTEXT } from '../audit/AuditContext';
import { AuditedChanges, ChangeOutcome } from '../audit/AuditedChanges';
import { GpuPoolStore } from './GpuPoolStore';

/**
 * GPU pools: every change commits together with its audit record, then is announced on the events
 * service so that the catalog shows it within seconds.
 */
export class GpuPoolService {
  constructor(
    private readonly store: GpuPoolStore,
    private readonly changes: AuditedChanges,
    private readonly events: EventsService,
    private readonly logger: LoggerService,
  ) {}

  listPools(): Promise<GpuPool[]> {
    return this.store.listPools();
  }

  getPool(name: string): Promise<GpuPool> {
    return this.store.getPool(name);
  }

  /**
   * Adds the pools of config `gekko.gpuPools` that the database does not have yet. Pools already
   * stored are left alone: after the first start the database, not the config, is the truth.
   */
  async seedFromConfig(pools: unknown[]): Promise<void> {
    for (const [index, input] of pools.entries()) {
      const spec = parseInput(
        createGpuPoolSchema,
        input,
        `config gekko.gpuPools[${index}]`,
      );
      if (await this.store.findPool(spec.name)) continue;
      await this.mutate(
        STARTUP_CONTEXT,
        {
          action: 'pool.seed',
          name: spec.name,
          change: 'created',
          quiet: true,
        },
        async trx => {
          const pool = await this.store.insertPool(
            trx,
            this.newPool(spec, 'config'),
          );
          return {
            result: pool,
            details: { source: 'config', pool: { ...pool } },
          };
        },
      );
      this.logger.info(`Seeded GPU pool ${spec.name} from config`);
    }
  }

  async createPool(
    context: AuditContext,
    spec: GpuPoolCreation,
  ): Promise<GpuPool> {
    return this.mutate(
      context,
      { action: 'pool.create', name: spec.name, change: 'created' },
      async trx => {
        const pool = await this.store.insertPool(
          trx,
          this.newPool(spec, 'api'),
        );
        return { result: pool, details: { pool: { ...pool } } };
      },
    );
  }

  async updatePool(
    context: AuditContext,
    name: string,
    patch: GpuPoolChange,
  ): Promise<GpuPool> {
    return this.mutate(
      context,
      { action: 'pool.update', name, change: 'updated' },
      async trx => {
        const before = await this.store.getPool(name, trx);
        const after: GpuPool = {
          ...before,
          ...patch,
          capacity: { ...before.capacity, ...patch.capacity },
          nodeSelector: patch.nodeSelector ?? before.nodeSelector,
          updatedAt: new Date().toISOString(),
        };
        await this.store.replacePool(trx, after);
        const changed = Object.keys(patch).sort();
        return {
          result: after,
          details: { changed, before: { ...before }, after: { ...after } },
        };
      },
    );
  }

  async deletePool(context: AuditContext, name: string): Promise<void> {
    await this.mutate(
      context,
      { action: 'pool.delete', name, change: 'deleted' },
      async trx => {
        const pool = await this.store.getPool(name, trx);
        await this.store.deletePool(trx, name);
        return { result: pool, details: { deleted: { ...pool } } };
      },
    );
  }

  private newPool(spec: GpuPoolCreation, source: GpuPool['source']): GpuPool {
    const now = new Date().toISOString();
    return {
      name: spec.name,
      title: spec.title,
      ...(spec.description ? { description: spec.description } : {}),
      accelerator: spec.accelerator,
      region: spec.region,
      capacity: spec.capacity,
      owner: spec.owner,
      nodeSelector: spec.nodeSelector,
      source,
      createdAt: now,
      updatedAt: now,
    };
  }

  /** Runs a change of one pool with its audit record, then announces it to the catalog. */
  private async mutate(
    context: AuditContext,
    what: {
      action: string;
      name: string;
      change: GpuPoolChangedEvent['change'];
      /** Seeding at start-up: the catalog's first full refresh finds these pools anyway. */
      quiet?: boolean;
    },
    change: (trx: Knex.Transaction) => Promise<ChangeOutcome<GpuPool>>,
  ): Promise<GpuPool> {
    const pool = await this.changes.run(
      context,
      { action: what.action, target: gpuPoolEntityRef(what.name) },
      change,
    );
    if (!what.quiet) {
      // Not awaited: in-process subscribers (the catalog) run inside publish, and the caller
      // should not wait for the catalog to read the pool back.
      const payload: GpuPoolChangedEvent = {
        name: what.name,
        change: what.change,
      };
      this.events
        .publish({ topic: GPU_POOL_EVENTS_TOPIC, eventPayload: payload })
        .catch(e =>
          this.logger.warn(
            `Could not announce the change of pool ${what.name}: ${e}`,
          ),
        );
    }
    return pool;
  }
}
