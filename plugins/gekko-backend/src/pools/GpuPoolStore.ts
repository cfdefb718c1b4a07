import { ConflictError, NotFoundError } from '@backstage/errors';
import { Accelerator, GpuPool } from '@gekko/plugin-gekko-common';
import { Knex } from 'knex';

const POOLS = 'gekko_gpu_pools';

interface PoolRow {
  name: string;
  title: string;
  description: string | null;
  accelerator: string;
  region: string;
  devices: number;
  memory_gib: number;
  owner: string;
  node_selector: string;
  source: string;
  created_at: string;
  updated_at: string;
}

/** The fields of a pool that people set. */
export type GpuPoolSpec = Omit<
  GpuPool,
  'name' | 'source' | 'createdAt' | 'updatedAt'
>;

function toPool(row: PoolRow): GpuPool {
  return {
    name: row.name,
    title: row.title,
    ...(row.description ? { description: row.description } : {}),
    accelerator: row.accelerator as Accelerator,
    region: row.region,
    capacity: {
      devices: Number(row.devices),
      memoryGiB: Number(row.memory_gib),
    },
    owner: row.owner,
    nodeSelector: JSON.parse(row.node_selector),
    source: row.source as GpuPool['source'],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toRow(pool: GpuPool): PoolRow {
  return {
    name: pool.name,
    title: pool.title,
    description: pool.description ?? null,
    accelerator: pool.accelerator,
    region: pool.region,
    devices: pool.capacity.devices,
    memory_gib: pool.capacity.memoryGiB,
    owner: pool.owner,
    node_selector: JSON.stringify(pool.nodeSelector),
    source: pool.source,
    created_at: pool.createdAt,
    updated_at: pool.updatedAt,
  };
}

/** GPU pools in the plugin's database. Writes take the caller's transaction. */
export class GpuPoolStore {
  constructor(private readonly db: Knex) {}

  async listPools(): Promise<GpuPool[]> {
    const rows = await this.db<PoolRow>(POOLS).orderBy('name');
    return rows.map(toPool);
  }

  async getPool(name: string, trx: Knex = this.db): Promise<GpuPool> {
    const row = await trx<PoolRow>(POOLS).where({ name }).first();
    if (!row) {
      throw new NotFoundError(`No GPU pool named "${name}"`);
    }
    return toPool(row);
  }

  async findPool(
    name: string,
    trx: Knex = this.db,
  ): Promise<GpuPool | undefined> {
    const row = await trx<PoolRow>(POOLS).where({ name }).first();
    return row && toPool(row);
  }

  async insertPool(trx: Knex, pool: GpuPool): Promise<GpuPool> {
    if (await this.findPool(pool.name, trx)) {
      throw new ConflictError(
        `A GPU pool named "${pool.name}" already exists; choose another name or update that pool`,
      );
    }
    try {
      await trx(POOLS).insert(toRow(pool));
    } catch (error) {
      // Two creations raced past the check above: the primary key decides.
      if (/unique|duplicate|23505/i.test(`${(error as any)?.code} ${error}`)) {
        throw new ConflictError(
          `A GPU pool named "${pool.name}" already exists`,
        );
      }
      throw error;
    }
    return pool;
  }

  async replacePool(trx: Knex, pool: GpuPool): Promise<GpuPool> {
    await trx(POOLS).where({ name: pool.name }).update(toRow(pool));
    return pool;
  }

  async deletePool(trx: Knex, name: string): Promise<void> {
    await trx(POOLS).where({ name }).delete();
  }
}
