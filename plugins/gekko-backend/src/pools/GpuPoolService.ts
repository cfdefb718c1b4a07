import { LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError, NotFoundError } from '@backstage/errors';
import { EventsService } from '@backstage/plugin-events-node';
import {
  CreateGpuPoolRequest,
  GPU_POOL_EVENTS_TOPIC,
  GpuPool,
  GpuPoolChange,
  GpuPoolChangedEvent,
  GpuPoolCreation,
  createGpuPoolSchema,
  gpuPoolEntityRef,
  parseInput,
} from '@gekko/plugin-gekko-common';
import type { Request } from 'express';
import { Knex } from 'knex';
import { AuditTrail } from '../audit/AuditTrail';
import { Caller } from '../service/AccessGuard';
import { GpuPoolStore } from './GpuPoolStore';

/**
 * GPU pools: every change commits together with its audit record, then is announced on the events
 * service so that the catalog shows it within seconds.
 */
export class GpuPoolService {
  constructor(
    private readonly db: Knex,
    private readonly store: GpuPoolStore,
    private readonly audit: AuditTrail,
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
  async seedFromConfig(pools: CreateGpuPoolRequest[]): Promise<void> {
    for (const [index, input] of pools.entries()) {
      const spec = parseInput(
        createGpuPoolSchema,
        input,
        `config gekko.gpuPools[${index}]`,
      );
      if (await this.store.findPool(spec.name)) continue;
      await this.mutate(
        { actor: 'plugin:gekko', requestId: 'startup' },
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
          return { pool, details: { source: 'config', pool: { ...pool } } };
        },
      );
      this.logger.info(`Seeded GPU pool ${spec.name} from config`);
    }
  }

  async createPool(
    caller: Caller,
    spec: GpuPoolCreation,
    req?: Request,
  ): Promise<GpuPool> {
    return this.mutate(
      caller,
      { action: 'pool.create', name: spec.name, change: 'created' },
      async trx => {
        const pool = await this.store.insertPool(
          trx,
          this.newPool(spec, 'api'),
        );
        return { pool, details: { pool: { ...pool } } };
      },
      req,
    );
  }

  async updatePool(
    caller: Caller,
    name: string,
    patch: GpuPoolChange,
    req?: Request,
  ): Promise<GpuPool> {
    return this.mutate(
      caller,
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
          pool: after,
          details: { changed, before: { ...before }, after: { ...after } },
        };
      },
      req,
    );
  }

  async deletePool(caller: Caller, name: string, req?: Request): Promise<void> {
    await this.mutate(
      caller,
      { action: 'pool.delete', name, change: 'deleted' },
      async trx => {
        const pool = await this.store.getPool(name, trx);
        await this.store.deletePool(trx, name);
        return { pool, details: { deleted: { ...pool } } };
      },
      req,
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

  /**
   * Runs a change and appends its audit record in one transaction; a change that fails for a
   * reason the caller can fix (404, 409) is recorded with outcome `failure`.
   */
  private async mutate(
    caller: Pick<Caller, 'actor' | 'requestId'>,
    what: {
      action: string;
      name: string;
      change: GpuPoolChangedEvent['change'];
      /** Seeding at start-up: the catalog's first full refresh finds these pools anyway. */
      quiet?: boolean;
    },
    change: (
      trx: Knex.Transaction,
    ) => Promise<{ pool: GpuPool; details: Record<string, unknown> }>,
    req?: Request,
  ): Promise<GpuPool> {
    const target = gpuPoolEntityRef(what.name);
    const base = {
      actor: caller.actor,
      action: what.action,
      target,
      requestId: caller.requestId,
    };
    let result;
    try {
      result = await this.db.transaction(async trx => {
        const { pool, details } = await change(trx);
        const record = await this.audit.appendWithin(trx, {
          ...base,
          outcome: 'success',
          details,
        });
        return { pool, record };
      });
    } catch (error) {
      if (error instanceof ConflictError || error instanceof NotFoundError) {
        await this.audit.append(
          { ...base, outcome: 'failure', details: { error: error.message } },
          req,
        );
      }
      throw error;
    }
    this.audit.forward(result.record, req);
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
    return result.pool;
  }
}
