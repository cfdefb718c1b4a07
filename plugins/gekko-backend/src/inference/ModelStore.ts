import type { ModelTensorSpec, ModelVersion } from '@gekko/plugin-gekko-common';
import { Knex } from 'knex';

/** A model version as stored; placements are live and not stored. */
export type StoredModelVersion = Omit<ModelVersion, 'placements'> & {
  source: 'config' | 'api';
};

interface Row {
  name: string;
  version: string;
  artifact: string;
  sha256: string;
  size_bytes: number | string;
  description: string | null;
  inputs: string;
  outputs: string;
  pools: string;
  state: string;
  weight: number;
  max_batch_size: number;
  max_queue_delay_ms: number;
  source: string;
  created_at: string;
  updated_at: string;
}

const TABLE = 'gekko_model_versions';

function fromRow(row: Row): StoredModelVersion {
  return {
    name: row.name,
    version: row.version,
    artifact: row.artifact,
    sha256: row.sha256,
    sizeBytes: Number(row.size_bytes),
    ...(row.description ? { description: row.description } : {}),
    inputs: JSON.parse(row.inputs) as ModelTensorSpec[],
    outputs: JSON.parse(row.outputs) as ModelTensorSpec[],
    pools: JSON.parse(row.pools) as string[],
    state: row.state as ModelVersion['state'],
    weight: row.weight,
    maxBatchSize: row.max_batch_size,
    maxQueueDelayMs: Number(row.max_queue_delay_ms),
    source: row.source as StoredModelVersion['source'],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toRow(model: StoredModelVersion): Row {
  return {
    name: model.name,
    version: model.version,
    artifact: model.artifact,
    sha256: model.sha256,
    size_bytes: model.sizeBytes,
    description: model.description ?? null,
    inputs: JSON.stringify(model.inputs),
    outputs: JSON.stringify(model.outputs),
    pools: JSON.stringify(model.pools),
    state: model.state,
    weight: model.weight,
    max_batch_size: model.maxBatchSize,
    max_queue_delay_ms: model.maxQueueDelayMs,
    source: model.source,
    created_at: model.createdAt,
    updated_at: model.updatedAt,
  };
}

/** The model registry's table. */
export class ModelStore {
  constructor(private readonly db: Knex) {}

  async list(trx: Knex = this.db): Promise<StoredModelVersion[]> {
    const rows = await trx<Row>(TABLE).orderBy([
      { column: 'name' },
      { column: 'created_at' },
      { column: 'version' },
    ]);
    return rows.map(fromRow);
  }

  async find(
    name: string,
    version: string,
    trx: Knex = this.db,
  ): Promise<StoredModelVersion | undefined> {
    const row = await trx<Row>(TABLE).where({ name, version }).first();
    return row ? fromRow(row) : undefined;
  }

  async versionsOf(
    name: string,
    trx: Knex = this.db,
  ): Promise<StoredModelVersion[]> {
    const rows = await trx<Row>(TABLE).where({ name }).orderBy('created_at');
    return rows.map(fromRow);
  }

  async insert(trx: Knex, model: StoredModelVersion): Promise<void> {
    await trx(TABLE).insert(toRow(model));
  }

  async replace(trx: Knex, model: StoredModelVersion): Promise<void> {
    await trx(TABLE)
      .where({ name: model.name, version: model.version })
      .update(toRow(model));
  }
}
