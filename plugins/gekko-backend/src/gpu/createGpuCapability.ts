import { LoggerService } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';
import { Registry } from 'prom-client';
import { AuditTrail } from '../audit/AuditTrail';
import type { GekkoConfig } from '../config/readGekkoConfig';
import { InferenceMetrics } from '../monitoring/InferenceMetrics';
import { AccessGuard } from '../service/AccessGuard';
import type { GpuPoolStore } from '../pools/GpuPoolStore';
import { GekkoCapability } from '../service/createRouter';
import { EmbeddedWorkers } from './EmbeddedWorkers';
import { GpuManager } from './GpuManager';
import { RemoteWorkers } from './RemoteWorkers';
import { createGpuRouter } from './router';
import { TelemetryHistory } from './TelemetryHistory';

/**
 * The GPU manager and its workers: the live worker registry and allocation, utilization history,
 * Prometheus metrics, and the transports workers join by (embedded threads, NATS). Workers start
 * with {@link start}, once the model registry can serve their artifacts.
 */
export function createGpuCapability(options: {
  db: Knex;
  guard: AccessGuard;
  trail: AuditTrail;
  logger: LoggerService;
  config: GekkoConfig;
  /** The pools the portal knows, to warn about workers that join an unknown one. */
  pools: { store: GpuPoolStore };
  /** The backend's Prometheus registry (`GET /metrics`); a new one when not given. */
  registry?: Registry;
}) {
  const { db, guard, trail, logger, config } = options;
  const heartbeatIntervalMs = config.gpu.heartbeatIntervalMs;
  const manager = new GpuManager({ logger, heartbeatIntervalMs });
  const history = new TelemetryHistory(db, {
    logger,
    retentionMs: config.gpu.historyRetentionMs,
  });
  const metrics = new InferenceMetrics(manager, options.registry);
  manager.addListener({
    heartbeat: worker => history.record(worker),
    joined: worker => {
      options.pools.store.findPool(worker.pool).then(
        known => {
          if (!known) {
            logger.warn(
              `Worker ${worker.id} joined pool ${worker.pool}, which the portal does not know: it serves only models deployed to that pool name. Create the pool (POST /api/gekko/pools) to see it in the catalog`,
            );
          }
        },
        () => {},
      );
    },
  });
  const embedded = new EmbeddedWorkers({
    count: config.inference.embedded.workers,
    pool: config.inference.embedded.pool,
    mode: config.inference.embedded.mode,
    intraOpThreads: config.inference.embedded.intraOpThreads,
    heartbeatIntervalMs,
    modelsDir: config.inference.modelsDir,
    events: manager,
    logger,
  });
  let remote: RemoteWorkers | undefined;
  let stopSweeping = () => {};
  let stopHistory = async () => {};

  const capability: GekkoCapability = {
    router: createGpuRouter({
      guard,
      manager,
      history,
      metrics,
      audit: trail,
      embedded,
      chaos: config.gpu.chaos,
    }),
    async stop() {
      await remote?.stop();
      await embedded.stop();
      stopSweeping();
      await stopHistory();
      await manager.close();
    },
  };
  return {
    manager,
    metrics,
    heartbeatIntervalMs,
    ...capability,
    /** Starts sweeping, history and the workers; remote ones fetch artifacts through `readArtifact`. */
    async start(artifacts: {
      readArtifact(sha256: string): Promise<Uint8Array | undefined>;
    }) {
      stopSweeping = manager.start();
      stopHistory = history.start();
      embedded.start();
      if (config.nats) {
        remote = new RemoteWorkers({
          ...config.nats,
          events: manager,
          readArtifact: sha => artifacts.readArtifact(sha),
          logger,
          trail,
          registry: metrics.registry,
        });
        await remote.start();
      }
    },
  };
}
