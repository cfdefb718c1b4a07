import type { GpuPool } from '@gekko/plugin-gekko-common';
import knexFactory, { Knex } from 'knex';
import path from 'node:path';
import { openGekkoDatabase } from '../database/migrations';
import { GpuPoolStore } from '../pools/GpuPoolStore';

/**
 * The gekko database of a benchmark: a SQLite file in `dir`, migrated, holding pool `cpu-dr`.
 * Destroy `knex` afterwards.
 */
export async function openBenchDatabase(dir: string): Promise<{
  knex: Knex;
  db: Knex;
  pools: GpuPoolStore;
}> {
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: path.join(dir, 'gekko.sqlite') },
    useNullAsDefault: true,
  });
  const db = await openGekkoDatabase({ getClient: async () => knex });
  const pools = new GpuPoolStore(db);
  const now = new Date().toISOString();
  const pool: GpuPool = {
    name: 'cpu-dr',
    title: 'CPU',
    accelerator: 'cpu',
    region: 'dr',
    capacity: { devices: 0, memoryGiB: 16 },
    owner: 'group:default/platform',
    nodeSelector: {},
    source: 'config',
    createdAt: now,
    updatedAt: now,
  };
  await pools.insertPool(db, pool);
  return { knex, db, pools };
}
