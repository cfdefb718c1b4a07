import { LoggerService } from '@backstage/backend-plugin-api';
import type { ModelVersion } from '@gekko/plugin-gekko-common';
import type { LoadReply } from '@gekko/worker';
import type { GpuManager, ManagedWorker } from '../gpu/GpuManager';
import { modelKey } from '../gpu/GpuManager';
import type { ModelArtifacts } from './ModelArtifacts';
import type { StoredModelVersion } from './ModelStore';

/** A worker that could not load a version it should serve. */
export interface LoadError {
  workerId: string;
  error: string;
}

/** Options of a {@link ModelPlacement}. */
export interface ModelPlacementOptions {
  logger: LoggerService;
  /** How long a worker may take to load a model; defaults to 60 s. */
  loadTimeoutMs?: number;
}

/**
 * Places model versions on workers: makes the workers of a version's pools load it while it is
 * deployed, and every other worker unload it. It reads the registry's record of a version and acts
 * on the workers only; the registry changes the record. The deployment orchestrator's model target
 * drives this, as the model routes do.
 */
export class ModelPlacement {
  private readonly loadTimeoutMs: number;

  constructor(
    private readonly manager: GpuManager,
    private readonly artifacts: ModelArtifacts,
    private readonly options: ModelPlacementOptions,
  ) {
    this.loadTimeoutMs = options.loadTimeoutMs ?? 60_000;
  }

  /** A version as the API shows it: the stored record and where it is loaded right now. */
  describe(model: StoredModelVersion): ModelVersion {
    const { source: _source, ...rest } = model;
    const key = modelKey(model.name, model.version);
    const placements: ModelVersion['placements'] = [];
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

  /**
   * Makes the workers match the record of a version: loaded on every worker of its pools while it is
   * deployed, unloaded everywhere else. Answers the workers that failed to load it.
   */
  async converge(model: StoredModelVersion): Promise<LoadError[]> {
    const serving = (w: ManagedWorker) =>
      model.state === 'deployed' && model.pools.includes(w.pool);
    const workers = this.manager.list();
    await this.unload(
      model,
      workers.filter(w => !serving(w)),
    );
    return this.loadOn(model, workers.filter(serving));
  }

  /**
   * Loads a version on these workers only, whatever its record says (a rolling release's batch).
   * Answers the workers that failed to load it.
   */
  async loadOn(
    model: StoredModelVersion,
    workers: ManagedWorker[],
  ): Promise<LoadError[]> {
    const results = await Promise.all(
      workers.map(w =>
        this.load(w, model).then(
          () => undefined,
          error => ({ workerId: w.id, error: String(error?.message ?? error) }),
        ),
      ),
    );
    return results.filter((r): r is LoadError => !!r);
  }

  /** Unloads a version from these workers only (a rolling release's batch, once the new one serves). */
  async unloadFrom(
    model: StoredModelVersion,
    workers: ManagedWorker[],
  ): Promise<void> {
    await this.unload(model, workers);
  }

  /** A worker joined: it loads the deployed versions of its pool, in the background. */
  joined(worker: ManagedWorker, deployed: StoredModelVersion[]): void {
    for (const model of deployed) {
      if (model.pools.includes(worker.pool)) {
        this.load(worker, model).catch(() => {});
      }
    }
  }

  private async load(worker: ManagedWorker, model: StoredModelVersion) {
    try {
      const reply = (await worker.connection.command(
        { op: 'load', model: this.artifacts.refOf(model) },
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

  private async unload(model: StoredModelVersion, workers: ManagedWorker[]) {
    const key = modelKey(model.name, model.version);
    await Promise.allSettled(
      workers
        .filter(w => w.models.has(key))
        .map(async w => {
          this.manager.markUnloaded(w.id, model.name, model.version);
          await w.connection.command(
            { op: 'unload', name: model.name, version: model.version },
            this.loadTimeoutMs,
          );
        }),
    );
  }
}
