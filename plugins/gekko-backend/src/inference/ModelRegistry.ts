import { LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  deployModelVersionSchema,
  gpuPoolEntityRef,
  modelTrafficSchema,
  parseInput,
  registerModelVersionSchema,
} from '@gekko/plugin-gekko-common';
import { Knex } from 'knex';
import { z } from 'zod';
import { AuditContext, STARTUP_CONTEXT } from '../audit/AuditContext';
import { AuditedChanges } from '../audit/AuditedChanges';
import { GpuPoolStore } from '../pools/GpuPoolStore';
import { ModelArtifacts } from './ModelArtifacts';
import { ModelStore, StoredModelVersion } from './ModelStore';

type Registration = z.infer<typeof registerModelVersionSchema>;
type Deployment = z.infer<typeof deployModelVersionSchema>;
type Traffic = z.infer<typeof modelTrafficSchema>;

/** The catalog entity the audit trail files a model change under: its home pool, whose Audit tab shows it. */
function modelTarget(pools: string[] | undefined): string | null {
  return pools?.length ? gpuPoolEntityRef(pools[0]) : null;
}

/**
 * The model registry: model versions in the database, their state (registered or deployed), their
 * pools and traffic weights. Every change is audited in the same transaction. It records what should
 * run; {@link ModelPlacement} makes the workers follow.
 */
export class ModelRegistry {
  /** Every version by model name; the predict path reads only this. */
  private cache = new Map<string, StoredModelVersion[]>();

  private readonly changeListeners: Array<(name: string) => void> = [];

  constructor(
    private readonly store: ModelStore,
    private readonly pools: GpuPoolStore,
    private readonly artifacts: ModelArtifacts,
    private readonly changes: AuditedChanges,
    private readonly logger: LoggerService,
  ) {}

  /** Calls `listener` with the model's name after each change this registry commits. */
  onChange(listener: (name: string) => void): void {
    this.changeListeners.push(listener);
  }

  /** Reads the registry into memory. */
  async refresh(): Promise<void> {
    const next = new Map<string, StoredModelVersion[]>();
    for (const model of await this.store.list()) {
      next.set(model.name, [...(next.get(model.name) ?? []), model]);
    }
    this.cache = next;
  }

  /** Every registered version, or those a pool serves. */
  list(pool?: string): StoredModelVersion[] {
    return [...this.cache.values()]
      .flat()
      .filter(m => !pool || m.pools.includes(pool));
  }

  /** The deployed versions a pool serves. */
  deployedIn(pool: string): StoredModelVersion[] {
    return this.list(pool).filter(m => m.state === 'deployed');
  }

  /** The version whose artifact has this SHA-256, if any. */
  findBySha256(sha256: string): StoredModelVersion | undefined {
    return this.list().find(m => m.sha256 === sha256);
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

  /** One version; 404 naming the versions there are when unknown. */
  get(name: string, version: string): StoredModelVersion {
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

  /** Registers a version from the models folder; reads its signature from the ONNX file. */
  async register(
    context: AuditContext,
    spec: Registration,
    source: StoredModelVersion['source'] = 'api',
  ): Promise<StoredModelVersion> {
    await this.checkPools(spec.pools, 'pools');
    const artifact = await this.artifacts.inspect(spec.artifact);
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
    await this.change(context, 'model.register', model, async trx => {
      if (await this.store.find(model.name, model.version, trx)) {
        throw new ConflictError(
          `Model ${model.name} version ${model.version} is already registered; register a new version instead`,
        );
      }
      await this.store.insert(trx, model);
      return { model: { ...model } };
    });
    return this.get(model.name, model.version);
  }

  /** Deploys a version: it gets `weight` of the model's traffic, on its pools (or new ones). */
  async deploy(
    context: AuditContext,
    name: string,
    version: string,
    body: Deployment,
  ): Promise<StoredModelVersion> {
    if (body.pools) await this.checkPools(body.pools, 'pools');
    const before = this.get(name, version);
    const after: StoredModelVersion = {
      ...before,
      state: 'deployed',
      weight: body.weight,
      pools: body.pools ?? before.pools,
      updatedAt: new Date().toISOString(),
    };
    await this.change(context, 'model.deploy', after, async trx => {
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
    });
    return this.get(name, version);
  }

  /** Undeploys a version: it gets no more traffic. */
  async undeploy(
    context: AuditContext,
    name: string,
    version: string,
  ): Promise<StoredModelVersion> {
    const before = this.get(name, version);
    const after: StoredModelVersion = {
      ...before,
      state: 'registered',
      weight: 0,
      updatedAt: new Date().toISOString(),
    };
    await this.change(context, 'model.undeploy', after, async trx => {
      await this.store.replace(trx, after);
      return { before: { state: before.state, weight: before.weight } };
    });
    return this.get(name, version);
  }

  /** Sets the traffic weights of deployed versions (a model canary). */
  async setTraffic(
    context: AuditContext,
    name: string,
    traffic: Traffic,
  ): Promise<StoredModelVersion[]> {
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
    await this.change(
      context,
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
    );
    return this.versionsOf(name);
  }

  /**
   * Registers (and deploys, unless the entry's weight is 0) the versions of config
   * `gekko.inference.models` that are not registered yet.
   */
  async seedFromConfig(entries: unknown[]): Promise<void> {
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
      await this.register(STARTUP_CONTEXT, spec, 'config');
      if (weight !== 0) {
        await this.deploy(STARTUP_CONTEXT, spec.name, spec.version, {
          weight: typeof weight === 'number' ? weight : 100,
        });
      }
      this.logger.info(
        `Registered model ${spec.name}@${spec.version} from config`,
      );
    }
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

  /** A change of the registry with its audit record, then the in-memory copy read again. */
  private async change(
    context: AuditContext,
    action: string,
    model: { name: string; version: string; pools?: string[] },
    change: (trx: Knex.Transaction) => Promise<Record<string, unknown>>,
  ): Promise<void> {
    try {
      await this.changes.run(
        context,
        {
          action,
          target: modelTarget(model.pools),
          subject: { model: model.name, version: model.version },
        },
        async trx => ({ result: undefined, details: await change(trx) }),
      );
    } finally {
      await this.refresh();
    }
    for (const listener of this.changeListeners) listener(model.name);
  }
}
