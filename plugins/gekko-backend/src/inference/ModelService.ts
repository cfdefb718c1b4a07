import { LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  deployModelVersionSchema,
  gpuPoolEntityRef,
  ModelTensorSpec,
  ModelVersion,
  modelTrafficSchema,
  registerModelVersionSchema,
  parseInput,
} from '@gekko/plugin-gekko-common';
import { inspectOnnx, LoadReply, ModelArtifactRef } from '@gekko/worker';
import type { Request } from 'express';
import { Knex } from 'knex';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AuditTrail } from '../audit/AuditTrail';
import type {
  GpuManager,
  GpuManagerListener,
  ManagedWorker,
} from '../gpu/GpuManager';
import { GpuPoolStore } from '../pools/GpuPoolStore';
import type { Caller } from '../service/AccessGuard';
import { ModelStore, StoredModelVersion } from './ModelStore';

type Registration = z.infer<typeof registerModelVersionSchema>;
type Deployment = z.infer<typeof deployModelVersionSchema>;
type Traffic = z.infer<typeof modelTrafficSchema>;

/** Options of a {@link ModelService}. */
export interface ModelServiceOptions {
  logger: LoggerService;
  /** Absolute path of the folder model artifacts are registered from. */
  modelsDir: string;
  /** How long a worker may take to load a model; defaults to 60 s. */
  loadTimeoutMs?: number;
}

/** The catalog entity the audit trail files a model change under: its home pool, whose Audit tab shows it. */
function modelTarget(pools: string[] | undefined): string | null {
  return pools?.length ? gpuPoolEntityRef(pools[0]) : null;
}

/**
 * The model registry: model versions in the database, loaded on the workers of their pools while
 * deployed, with a traffic weight per version. Every change is audited in the same transaction; the
 * loads and unloads on workers follow the committed change.
 */
export class ModelService implements GpuManagerListener {
  /** Every version by model name; the predict path reads only this. */
  private cache = new Map<string, StoredModelVersion[]>();
  private readonly loadTimeoutMs: number;

  constructor(
    private readonly db: Knex,
    private readonly store: ModelStore,
    private readonly pools: GpuPoolStore,
    private readonly audit: AuditTrail,
    private readonly manager: GpuManager,
    private readonly options: ModelServiceOptions,
  ) {
    this.loadTimeoutMs = options.loadTimeoutMs ?? 60_000;
    manager.addListener(this);
  }

  /** Reads the registry into memory. */
  async refresh(): Promise<void> {
    const next = new Map<string, StoredModelVersion[]>();
    for (const model of await this.store.list()) {
      next.set(model.name, [...(next.get(model.name) ?? []), model]);
    }
    this.cache = next;
  }

  /** Every registered version (optionally only those a pool serves), with live placements. */
  list(pool?: string): ModelVersion[] {
    const all = [...this.cache.values()].flat();
    return all
      .filter(m => !pool || m.pools.includes(pool))
      .map(m => this.withPlacements(m));
  }

  /** One version, with live placements; 404 when unknown. */
  get(name: string, version: string): ModelVersion {
    return this.withPlacements(this.require(name, version));
  }

  /** The versions of a model; 404 when the model is unknown. */
  versionsOf(name: string): StoredModelVersion[] {
    const versions = this.cache.get(name);
    if (!versions?.length) {
      throw new NotFoundError(
        `No model named ${name} is registered; GET /inference/models lists the models`,
      );
    }
    return versions;
  }

  /**
   * The deployed versions of a model that should get a request, in the order to try them: one drawn
   * by traffic weight first, then the others by weight (so a canary without workers falls back).
   */
  routeOrder(name: string, random = Math.random): StoredModelVersion[] {
    const deployed = this.versionsOf(name).filter(
      v => v.state === 'deployed' && v.weight > 0,
    );
    if (deployed.length <= 1) return deployed;
    const total = deployed.reduce((sum, v) => sum + v.weight, 0);
    let draw = random() * total;
    let first = deployed[deployed.length - 1];
    for (const v of deployed) {
      draw -= v.weight;
      if (draw < 0) {
        first = v;
        break;
      }
    }
    return [
      first,
      ...deployed.filter(v => v !== first).sort((a, b) => b.weight - a.weight),
    ];
  }

  /** The artifact reference a worker loads, from a stored version. */
  artifactRef(model: StoredModelVersion): ModelArtifactRef {
    return {
      name: model.name,
      version: model.version,
      relativePath: model.artifact,
      absolutePath: path.join(this.options.modelsDir, model.artifact),
      sha256: model.sha256,
      sizeBytes: model.sizeBytes,
      batching: {
        maxBatchSize: model.maxBatchSize,
        maxQueueDelayMs: model.maxQueueDelayMs,
      },
    };
  }

  /** The bytes of a registered artifact by SHA-256, for remote workers that have no copy. */
  async readArtifact(sha256: string): Promise<Uint8Array | undefined> {
    const model = [...this.cache.values()]
      .flat()
      .find(m => m.sha256 === sha256);
    if (!model) return undefined;
    const bytes = await fs.readFile(
      path.join(this.options.modelsDir, model.artifact),
    );
    return crypto.createHash('sha256').update(bytes).digest('hex') === sha256
      ? bytes
      : undefined;
  }

  /** Registers a version from the models folder; reads its signature from the ONNX file. */
  async register(
    caller: Pick<Caller, 'actor' | 'requestId'>,
    spec: Registration,
    req?: Request,
    source: StoredModelVersion['source'] = 'api',
  ): Promise<ModelVersion> {
    await this.checkPools(spec.pools, 'pools');
    const artifact = await this.inspectArtifact(spec.artifact);
    const now = new Date().toISOString();
    const model: StoredModelVersion = {
      name: spec.name,
      version: spec.version,
      artifact: spec.artifact,
      sha256: artifact.sha256,
      sizeBytes: artifact.sizeBytes,
      ...(spec.description ? { description: spec.description } : {}),
      inputs: artifact.inputs,
      outputs: artifact.outputs,
      pools: spec.pools,
      state: 'registered',
      weight: 0,
      maxBatchSize: spec.maxBatchSize,
      maxQueueDelayMs: spec.maxQueueDelayMs,
      source,
      createdAt: now,
      updatedAt: now,
    };
    await this.mutate(
      caller,
      'model.register',
      model,
      async trx => {
        if (await this.store.find(model.name, model.version, trx)) {
          throw new ConflictError(
            `Model ${model.name} version ${model.version} is already registered; register a new version instead`,
          );
        }
        await this.store.insert(trx, model);
        return { model: { ...model } };
      },
      req,
    );
    return this.get(model.name, model.version);
  }

  /** Deploys a version: it gets `weight` of the model's traffic and is loaded on its pools' workers. */
  async deploy(
    caller: Pick<Caller, 'actor' | 'requestId'>,
    name: string,
    version: string,
    body: Deployment,
    req?: Request,
  ): Promise<ModelVersion> {
    if (body.pools) await this.checkPools(body.pools, 'pools');
    const before = this.require(name, version);
    const after: StoredModelVersion = {
      ...before,
      state: 'deployed',
      weight: body.weight,
      pools: body.pools ?? before.pools,
      updatedAt: new Date().toISOString(),
    };
    await this.mutate(
      caller,
      'model.deploy',
      after,
      async trx => {
        await this.store.replace(trx, after);
        return {
          weight: after.weight,
          pools: after.pools,
          before: {
            state: before.state,
            weight: before.weight,
            pools: before.pools,
          },
        };
      },
      req,
    );
    const loadErrors = await this.placeEverywhere(after);
    for (const pool of before.pools.filter(p => !after.pools.includes(p))) {
      await this.unloadFrom(after, this.manager.list(pool));
    }
    return {
      ...this.get(name, version),
      ...(loadErrors.length ? { loadErrors } : {}),
    };
  }

  /** Undeploys a version: no more traffic, unloaded from every worker. */
  async undeploy(
    caller: Pick<Caller, 'actor' | 'requestId'>,
    name: string,
    version: string,
    req?: Request,
  ): Promise<ModelVersion> {
    const before = this.require(name, version);
    const after: StoredModelVersion = {
      ...before,
      state: 'registered',
      weight: 0,
      updatedAt: new Date().toISOString(),
    };
    await this.mutate(
      caller,
      'model.undeploy',
      after,
      async trx => {
        await this.store.replace(trx, after);
        return { before: { state: before.state, weight: before.weight } };
      },
      req,
    );
    await this.unloadFrom(after, this.manager.list());
    return this.get(name, version);
  }

  /** Sets the traffic weights of deployed versions (a model canary). */
  async setTraffic(
    caller: Pick<Caller, 'actor' | 'requestId'>,
    name: string,
    traffic: Traffic,
    req?: Request,
  ): Promise<ModelVersion[]> {
    const versions = this.versionsOf(name);
    const problems: string[] = [];
    for (const version of Object.keys(traffic.weights)) {
      const v = versions.find(m => m.version === version);
      if (!v) problems.push(`weights.${version}: no such version of ${name}`);
      else if (v.state !== 'deployed')
        problems.push(
          `weights.${version}: version ${version} is not deployed; deploy it first`,
        );
    }
    if (problems.length) {
      throw new InputError(`Invalid traffic split: ${problems.join('; ')}`);
    }
    const now = new Date().toISOString();
    await this.mutate(
      caller,
      'model.traffic',
      { name, version: '*', pools: versions[0]?.pools },
      async trx => {
        const before: Record<string, number> = {};
        for (const v of await this.store.versionsOf(name, trx)) {
          if (traffic.weights[v.version] === undefined) continue;
          before[v.version] = v.weight;
          await this.store.replace(trx, {
            ...v,
            weight: traffic.weights[v.version],
            updatedAt: now,
          });
        }
        return { before, after: traffic.weights };
      },
      req,
    );
    return this.versionsOf(name).map(v => this.withPlacements(v));
  }

  /** Registers (and deploys) the versions listed in config `gekko.inference.models` that are not registered yet. */
  async seedFromConfig(entries: unknown[]): Promise<void> {
    const system = { actor: 'plugin:gekko', requestId: 'startup' };
    for (const [index, entry] of entries.entries()) {
      const { weight, ...rest } = (entry ?? {}) as Record<string, unknown>;
      const spec = parseInput(
        registerModelVersionSchema,
        rest,
        `config gekko.inference.models[${index}]`,
      );
      if (this.cache.get(spec.name)?.some(m => m.version === spec.version)) {
        continue;
      }
      await this.register(system, spec, undefined, 'config');
      if (weight !== 0) {
        await this.deploy(system, spec.name, spec.version, {
          weight: typeof weight === 'number' ? weight : 100,
        });
      }
      this.options.logger.info(
        `Registered model ${spec.name}@${spec.version} from config`,
      );
    }
  }

  /** A worker joined: load every deployed version its pool serves. */
  joined(worker: ManagedWorker): void {
    for (const model of [...this.cache.values()].flat()) {
      if (model.state === 'deployed' && model.pools.includes(worker.pool)) {
        this.loadOn(worker, model).catch(() => {});
      }
    }
  }

  private require(name: string, version: string): StoredModelVersion {
    const model = this.versionsOf(name).find(m => m.version === version);
    if (!model) {
      throw new NotFoundError(
        `Model ${name} has no version ${version}; it has ${this.versionsOf(name)
          .map(m => m.version)
          .join(', ')}`,
      );
    }
    return model;
  }

  private withPlacements(model: StoredModelVersion): ModelVersion {
    const { source: _source, ...rest } = model;
    const placements: ModelVersion['placements'] = [];
    const key = `${model.name}@${model.version}`;
    for (const worker of this.manager.list()) {
      if (worker.models.has(key)) {
        placements.push({
          workerId: worker.id,
          pool: worker.pool,
          name: model.name,
          version: model.version,
          provider: worker.providers.get(key) ?? 'cpu',
        });
      }
    }
    return { ...rest, placements };
  }

  private async checkPools(pools: string[], field: string) {
    const problems: string[] = [];
    for (const [i, pool] of pools.entries()) {
      if (!(await this.pools.findPool(pool))) {
        problems.push(`${field}.${i}: no GPU pool named ${pool}`);
      }
    }
    if (problems.length) {
      throw new InputError(
        `Invalid model version: ${problems.join('; ')} (GET /pools lists them)`,
      );
    }
  }

  /** Reads an artifact from the models folder: its hash, size and tensor signature. */
  private async inspectArtifact(relative: string): Promise<{
    sha256: string;
    sizeBytes: number;
    inputs: ModelTensorSpec[];
    outputs: ModelTensorSpec[];
  }> {
    const root = path.resolve(this.options.modelsDir);
    const file = path.resolve(root, relative);
    if (!file.startsWith(root + path.sep)) {
      throw new InputError(
        'Invalid model version: artifact: must be a path inside the models folder',
      );
    }
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(file);
    } catch {
      throw new InputError(
        `Invalid model version: artifact: there is no file ${relative} in the models folder (${root}); copy the ONNX file there first`,
      );
    }
    let signature;
    try {
      signature = inspectOnnx(bytes);
    } catch (error) {
      throw new InputError(
        `Invalid model version: artifact: ${relative} is not a readable ONNX model (${
          (error as Error).message
        })`,
      );
    }
    const declared = await readSidecar(
      path.join(path.dirname(file), 'model.json'),
    );
    const spec = (t: {
      name: string;
      dtype: string;
      shape: Array<number | string>;
    }) => {
      const known = declared?.get(t.name);
      return {
        name: t.name,
        dtype: t.dtype as 'float32',
        shape: t.shape.map((d, i) => {
          if (typeof d === 'number' && d > 0) return d;
          // A symbolic dimension the exporter left: model.json may declare it (never the batch).
          if (i > 0 && known && known[i] > 0) return known[i];
          return -1;
        }),
      };
    };
    const inputs = signature.inputs.map(spec);
    const outputs = signature.outputs.map(spec);
    if (inputs.length !== 1 || inputs[0].dtype !== 'float32') {
      throw new InputError(
        `Invalid model version: artifact: the gateway serves models with exactly one float32 input; ${relative} has ${inputs
          .map(i => `${i.name} (${i.dtype})`)
          .join(', ')}`,
      );
    }
    if (
      inputs[0].shape.length < 2 ||
      inputs[0].shape.slice(1).some(d => d < 1)
    ) {
      throw new InputError(
        `Invalid model version: artifact: the input ${
          inputs[0].name
        } must be [batch, features…] with fixed feature dimensions; it is [${inputs[0].shape.join(
          ', ',
        )}]`,
      );
    }
    return {
      sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
      sizeBytes: bytes.length,
      inputs,
      outputs,
    };
  }

  private async placeEverywhere(
    model: StoredModelVersion,
  ): Promise<Array<{ workerId: string; error: string }>> {
    const workers = this.manager
      .list()
      .filter(w => model.pools.includes(w.pool));
    const results = await Promise.all(
      workers.map(w =>
        this.loadOn(w, model).then(
          () => undefined,
          error => ({ workerId: w.id, error: String(error?.message ?? error) }),
        ),
      ),
    );
    return results.filter((r): r is { workerId: string; error: string } => !!r);
  }

  private async loadOn(worker: ManagedWorker, model: StoredModelVersion) {
    try {
      const reply = (await worker.connection.command(
        { op: 'load', model: this.artifactRef(model) },
        this.loadTimeoutMs,
      )) as LoadReply;
      this.manager.markLoaded(
        worker.id,
        model.name,
        model.version,
        reply.provider,
      );
      if (!reply.alreadyLoaded) {
        this.options.logger.info(
          `Loaded ${model.name}@${model.version} on worker ${worker.id} (${reply.provider})`,
        );
      }
    } catch (error) {
      this.options.logger.warn(
        `Could not load ${model.name}@${model.version} on worker ${worker.id}: ${error}`,
      );
      throw error;
    }
  }

  private async unloadFrom(
    model: StoredModelVersion,
    workers: ManagedWorker[],
  ) {
    await Promise.allSettled(
      workers
        .filter(w => w.models.has(`${model.name}@${model.version}`))
        .map(async w => {
          this.manager.markUnloaded(w.id, model.name, model.version);
          await w.connection.command(
            { op: 'unload', name: model.name, version: model.version },
            this.loadTimeoutMs,
          );
        }),
    );
  }

  /** Runs a change and its audit record in one transaction, then refreshes the in-memory registry. */
  private async mutate(
    caller: Pick<Caller, 'actor' | 'requestId'>,
    action: string,
    model: { name: string; version: string; pools?: string[] },
    change: (trx: Knex.Transaction) => Promise<Record<string, unknown>>,
    req?: Request,
  ): Promise<void> {
    const base = {
      actor: caller.actor,
      action,
      target: modelTarget(model.pools),
      requestId: caller.requestId,
    };
    let record;
    try {
      record = await this.db.transaction(async trx => {
        const details = {
          model: model.name,
          version: model.version,
          ...(await change(trx)),
        };
        return this.audit.appendWithin(trx, {
          ...base,
          outcome: 'success',
          details,
        });
      });
    } catch (error) {
      if (error instanceof ConflictError || error instanceof NotFoundError) {
        await this.audit.append(
          {
            ...base,
            outcome: 'failure',
            details: {
              model: model.name,
              version: model.version,
              error: error.message,
            },
          },
          req,
        );
      }
      throw error;
    } finally {
      await this.refresh();
    }
    this.audit.forward(record, req);
  }
}

/** Tensor shapes a `model.json` beside the artifact declares, by tensor name. */
async function readSidecar(
  file: string,
): Promise<Map<string, number[]> | undefined> {
  try {
    const meta = JSON.parse(await fs.readFile(file, 'utf8'));
    const map = new Map<string, number[]>();
    for (const t of [...(meta.inputs ?? []), ...(meta.outputs ?? [])]) {
      if (typeof t?.name === 'string' && Array.isArray(t.shape)) {
        map.set(t.name, t.shape.map(Number));
      }
    }
    return map;
  } catch {
    return undefined;
  }
}
