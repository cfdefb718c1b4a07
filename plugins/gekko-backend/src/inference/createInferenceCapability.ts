import { AuthService, LoggerService } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';
import { AuditedChanges } from '../audit/AuditedChanges';
import type { GekkoConfig } from '../config/readGekkoConfig';
import type { GpuManager } from '../gpu/GpuManager';
import type { InferenceMetrics } from '../monitoring/InferenceMetrics';
import type { GpuPoolStore } from '../pools/GpuPoolStore';
import { AccessGuard } from '../service/AccessGuard';
import { GekkoCapability } from '../service/createRouter';
import { InferenceDataPlane } from './InferenceDataPlane';
import { InferenceGateway } from './InferenceGateway';
import { ModelArtifacts } from './ModelArtifacts';
import { ModelDeploymentTarget } from './ModelDeploymentTarget';
import { ModelPlacement } from './ModelPlacement';
import { ModelRegistry } from './ModelRegistry';
import { ModelStore } from './ModelStore';
import { createModelsRouter, createPredictRouter } from './router';
import { VersionTraffic } from './VersionTraffic';

/**
 * Inference: the model registry (seeded from config), placement of deployed versions on the workers
 * that join, the gateway, its routes, and the data plane when configured.
 */
export async function createInferenceCapability(options: {
  db: Knex;
  guard: AccessGuard;
  changes: AuditedChanges;
  auth: AuthService;
  logger: LoggerService;
  gpu: {
    manager: GpuManager;
    metrics: InferenceMetrics;
    heartbeatIntervalMs: number;
  };
  pools: { store: GpuPoolStore };
  config: GekkoConfig['inference'];
}) {
  const { guard, logger, config } = options;
  const { manager, metrics } = options.gpu;
  const artifacts = new ModelArtifacts(config.modelsDir);
  const registry = new ModelRegistry(
    new ModelStore(options.db),
    options.pools.store,
    artifacts,
    options.changes,
    logger,
  );
  const placement = new ModelPlacement(manager, artifacts, {
    logger,
    loadTimeoutMs: config.loadTimeoutMs,
  });
  manager.addListener({
    joined: worker =>
      placement.joined(worker, registry.deployedIn(worker.pool)),
  });
  await registry.refresh();
  await registry.seedFromConfig(config.models);

  const traffic = new VersionTraffic();
  const gateway = new InferenceGateway(registry, manager, metrics, {
    defaultDeadlineMs: config.defaultDeadlineMs,
    traffic,
  });
  const deploymentTarget = new ModelDeploymentTarget({
    registry,
    placement,
    artifacts,
    manager,
    traffic,
    heartbeatIntervalMs: options.gpu.heartbeatIntervalMs,
  });
  const dataPlane =
    config.dataPlane &&
    new InferenceDataPlane({
      ...config.dataPlane,
      auth: options.auth,
      guard,
      gateway,
      logger,
    });
  const dataPlaneUrl = await dataPlane?.start();

  const capability: GekkoCapability = {
    ownBodyRouter: createPredictRouter({ guard, gateway }),
    router: createModelsRouter({ guard, registry, placement, dataPlaneUrl }),
    stop: async () => dataPlane?.stop(),
  };
  return {
    registry,
    placement,
    gateway,
    /** The `gpu-pool` deployment target: model versions on GPU pools. */
    deploymentTarget,
    ...capability,
    /** The bytes of a registered artifact by SHA-256, for remote workers that have no copy. */
    async readArtifact(sha256: string): Promise<Uint8Array | undefined> {
      const model = registry.findBySha256(sha256);
      return model && artifacts.read(model.artifact, sha256);
    },
  };
}
