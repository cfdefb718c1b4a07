/*
 * Deployment benchmark: how fast the orchestrator rolls back, and what it adds per rollout step,
 * each against a bare traffic-weight update of the model registry measured in the same run.
 * The real pieces on a SQLite file: model registry, placement, one embedded worker thread, the
 * model target and the orchestrator; `npm run bench` prints the verdicts.
 */
import { createDeploymentSchema } from '@gekko/plugin-gekko-common';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { mlpVersions, twoModelVersions } from './twoModelVersions';
import { AuditedChanges } from '../audit/AuditedChanges';
import { AuditTrail } from '../audit/AuditTrail';
import { DeploymentOrchestrator } from '../deployments/DeploymentOrchestrator';
import { DeploymentStore } from '../deployments/DeploymentStore';
import { DeploymentTargets } from '../deployments/DeploymentTargets';
import { EmbeddedWorkers } from '../gpu/EmbeddedWorkers';
import { GpuManager } from '../gpu/GpuManager';
import { ModelArtifacts } from '../inference/ModelArtifacts';
import { ModelDeploymentTarget } from '../inference/ModelDeploymentTarget';
import { ModelPlacement } from '../inference/ModelPlacement';
import { ModelRegistry } from '../inference/ModelRegistry';
import { ModelStore } from '../inference/ModelStore';
import { VersionTraffic } from '../inference/VersionTraffic';
import { benchLogger } from './benchLogger';
import { openBenchDatabase } from './openBenchDatabase';
import { formatNumber, verdict, writeBenchResults } from './results';

const ROUNDS = Number(process.env.GEKKO_BENCH_DEPLOY_ROUNDS ?? 10);
const context = { actor: 'user:default/bench', requestId: 'bench' };

const logger = benchLogger;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function until(probe: () => boolean) {
  while (!probe()) await new Promise(r => setImmediate(r));
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-deploy-bench-'));
  const modelsDir = twoModelVersions();
  const { knex, db, pools } = await openBenchDatabase(dir);
  const changes = new AuditedChanges(db, new AuditTrail(db, { logger }));
  const manager = new GpuManager({ logger, heartbeatIntervalMs: 200 });
  const stopSweeping = manager.start();
  const artifacts = new ModelArtifacts(modelsDir);
  const registry = new ModelRegistry(
    new ModelStore(db),
    pools,
    artifacts,
    changes,
    logger,
  );
  const placement = new ModelPlacement(manager, artifacts, { logger });
  manager.addListener({
    joined: worker =>
      placement.joined(worker, registry.deployedIn(worker.pool)),
  });
  await registry.refresh();
  await registry.seedFromConfig(mlpVersions);
  const embedded = new EmbeddedWorkers({
    count: 1,
    pool: 'cpu-dr',
    heartbeatIntervalMs: 200,
    modelsDir: modelsDir,
    events: manager,
    logger,
  });
  embedded.start();
  await until(() => manager.list('cpu-dr').some(w => w.models.has('mlp@1')));

  const targets = new DeploymentTargets();
  targets.add(
    new ModelDeploymentTarget({
      registry,
      placement,
      artifacts,
      manager,
      traffic: new VersionTraffic(),
      heartbeatIntervalMs: 200,
    }),
  );
  const orchestrator = new DeploymentOrchestrator(
    new DeploymentStore(db),
    targets,
    changes,
    { logger, analysisIntervalMs: 1 },
  );
  const weightOf = (version: string) =>
    registry.versionsOf('mlp').find(v => v.version === version)!;

  const bareUpdates: number[] = [];
  const rollbacks: number[] = [];
  const canaries: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Baseline: one audited traffic-weight update, the least a rollback has to do.
    await registry.deploy(context, 'mlp', '2', { weight: 0 });
    let started = performance.now();
    await registry.setTraffic(context, 'mlp', {
      weights: { '1': 100, '2': 0 },
    });
    bareUpdates.push(performance.now() - started);
    await registry.undeploy(context, 'mlp', '2');

    // A whole canary of 4 steps, no pauses, no evidence asked (minSamples 0).
    const input = createDeploymentSchema.parse({
      entityRef: 'component:default/inference-gateway',
      target: 'gpu-pool',
      strategy: 'canary',
      spec: { model: 'mlp', version: '2' },
      pauseMs: 0,
      analysis: { minSamples: 0 },
    });
    started = performance.now();
    const created = await orchestrator.create(context, input);
    await orchestrator.settled();
    canaries.push(performance.now() - started);
    const done = await orchestrator.get(created.id);
    if (done.state !== 'succeeded') {
      throw new Error(`canary ended ${done.state}: ${done.reason}`);
    }

    // Rollback: from the request to all traffic on the previous version.
    started = performance.now();
    await orchestrator.rollback(context, done);
    await until(
      () => weightOf('1').weight === 100 && weightOf('2').state !== 'deployed',
    );
    rollbacks.push(performance.now() - started);
    await orchestrator.settled();
  }

  await orchestrator.stop();
  await embedded.stop();
  stopSweeping();
  await manager.close();
  await knex.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(modelsDir, { recursive: true, force: true });

  const bare = median(bareUpdates);
  const rollback = median(rollbacks);
  const canary = median(canaries);
  const perStep = canary / 4;
  const results = {
    benchmark: 'deployment',
    time: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    rounds: ROUNDS,
    medianMs: {
      bareTrafficUpdate: +bare.toFixed(2),
      rollback: +rollback.toFixed(2),
      canaryOf4Steps: +canary.toFixed(2),
      perCanaryStep: +perStep.toFixed(2),
    },
    verdicts: [
      verdict({
        figure: 'rollback, request to all traffic on the previous version',
        value: +rollback.toFixed(2),
        unit: 'ms',
        baseline: {
          name: 'bare traffic-weight update',
          value: +bare.toFixed(2),
          unit: 'ms',
        },
        ratio: +(bare / rollback).toFixed(2),
        goal: { op: '<', value: 1000, unit: 'ms' },
      }),
      verdict({
        figure: 'canary of 4 steps, no pause, orchestrator time per step',
        value: +perStep.toFixed(2),
        unit: 'ms',
        baseline: {
          name: 'bare traffic-weight update',
          value: +bare.toFixed(2),
          unit: 'ms',
        },
        ratio: +(bare / perStep).toFixed(2),
        goal: { op: '<', value: 1000, unit: 'ms' },
        shown: {
          value: `${formatNumber(
            +perStep.toFixed(1),
          )} ms per step (${formatNumber(
            +canary.toFixed(0),
          )} ms for the canary)`,
          baseline: `bare traffic-weight update ${bare.toFixed(2)} ms`,
        },
      }),
    ],
  };
  writeBenchResults('deployment', results);
}

main().catch(error => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
