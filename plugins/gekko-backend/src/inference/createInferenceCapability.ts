import { AuthService, LoggerService } from '@backstage/backend-plugin-api';
import { EventsService } from '@backstage/plugin-events-node';
import {
  MODEL_VERSION_EVENTS_TOPIC,
  ModelVersionsChangedEvent,
} from '@gekko/plugin-gekko-common';
import { randomUUID } from 'node:crypto';
import { Knex } from 'knex';
import { AuditedChanges } from '../audit/AuditedChanges';
import type { GekkoConfig } from '../config/readGekkoConfig';
import type { GpuManager } from '../gpu/GpuManager';
import type { InferenceMetrics } from '../monitoring/InferenceMetrics';
import type { GpuPoolStore } from '../pools/GpuPoolStore';
import { AccessGuard } from '../service/AccessGuard';
import type { CallerRateLimits } from '../service/CallerRateLimits';
import { GekkoCapability } from '../service/createRouter';
import { InferenceDataPlane } from './InferenceDataPlane';
import { InferenceGateway } from './InferenceGateway';
import { ModelArtifacts } from './ModelArtifacts';
import { ModelDeploymentTarget } from './ModelDeploymentTarget';
import { ModelPlacement } from './ModelPlacement';
import { ModelRegistry } from './ModelRegistry';
import { ModelStore } from './ModelStore';
import { ReplayTraffic } from './ReplayTraffic';
import { createModelsRouter, createPredictRouter } from './router';
import { VersionTraffic } from './VersionTraffic';

/**
 * Keeps replicas of the backend in step: each registry change is announced on the events service,
 * and a change another replica announces is read back from the database and placed on this
 * replica's workers, within the time the event takes to arrive.
 */
function syncReplicas(
  registry: ModelRegistry,
  placement: ModelPlacement,
  events: EventsService,
  logger: LoggerService,
) {
  const origin = randomUUID();
  registry.onChange(name => {
    const eventPayload: ModelVersionsChangedEvent = { name, origin };
    events
      .publish({ topic: MODEL_VERSION_EVENTS_TOPIC, eventPayload })
      .catch(e =>
        logger.warn(`Could not announce the change of model ${name}: ${e}`),
      );
  });
  events
    .subscribe({
      id: 'gekko-model-registry',
      topics: [MODEL_VERSION_EVENTS_TOPIC],
      onEvent: async event => {
        const { name, origin: from } =
          event.eventPayload as ModelVersionsChangedEvent;
        if (from === origin) return;
        await registry.refresh();
        for (const version of registry.list().filter(v => v.name === name)) {
          await placement.converge(version);
        }
      },
    })
    .catch(e => logger.warn(`Could not follow model registry changes: ${e}`));
}

/**
 * Inference: the model registry (seeded from config), placement of deployed versions on the workers
 * that join, the gateway, its routes, and the data plane when configured.
 */
export async function createInferenceCapability(options: {
  db: Knex;
  guard: AccessGuard;
  changes: AuditedChanges;
  auth: AuthService;
  events: EventsService;
  logger: LoggerService;
  gpu: {
    manager: GpuManager;
    metrics: InferenceMetrics;
    heartbeatIntervalMs: number;
  };
  pools: { store: GpuPoolStore };
  config: GekkoConfig['inference'];
  /** Per-caller predict limits, on the portal route and the data plane. */
  limits?: CallerRateLimits;
}) {
  const { guard, logger, config, limits } = options;
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
  syncReplicas(registry, placement, options.events, logger);
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
      limits,
    });
  const dataPlaneUrl = await dataPlane?.start();
  // Replayed holdout windows as live traffic, when configured with a rate (0 is off).
  const replay = config.replayTraffic?.ratePerSecond
    ? new ReplayTraffic({
        ...config.replayTraffic,
        ...{ gateway, registry, logger, modelsDir: config.modelsDir },
      })
    : undefined;
  replay?.start();

  const capability: GekkoCapability = {
    ownBodyRouter: createPredictRouter({ guard, gateway, limits }),
    router: createModelsRouter({ guard, registry, placement, dataPlaneUrl }),
    stop: async () => {
      await replay?.stop();
      await dataPlane?.stop();
    },
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
