import { InputError } from '@backstage/errors';
import {
  modelVersionName,
  parseInput,
  resourceName,
} from '@gekko/plugin-gekko-common';
import type {
  DeploymentCheck,
  DeploymentRequest,
  DeploymentSnapshot,
  DeploymentTarget,
  DeploymentTargetContext,
  RolloutStep,
  StepAnalysis,
} from '@gekko/plugin-gekko-node';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import type { AuditContext } from '../audit/AuditContext';
import type { GpuManager, ManagedWorker } from '../gpu/GpuManager';
import type { ModelArtifacts } from './ModelArtifacts';
import type { ModelPlacement } from './ModelPlacement';
import type { ModelRegistry } from './ModelRegistry';
import type { StoredModelVersion } from './ModelStore';
import { judgeCanary } from './judgeCanary';
import type { VersionTraffic } from './VersionTraffic';

/** What a model deployment asks for: a registered version of a model, on its pools or others. */
const specSchema = z
  .object({
    model: resourceName('model'),
    version: modelVersionName,
    pools: z.array(resourceName('pool')).min(1).max(8).optional(),
    /** Rolling: workers switched to the new version per step. Default 1. */
    maxUnavailable: z.number().int().min(1).max(1000).optional(),
    /** Blue-green: how long the replaced version stays loaded after the switch, in ms. Default 30 s. */
    scaleDownDelayMs: z.number().int().min(0).max(3_600_000).optional(),
  })
  .strict();

type ModelSpec = z.infer<typeof specSchema>;

/** The spec options only one strategy takes. */
const STRATEGY_OPTIONS = {
  maxUnavailable: 'rolling',
  scaleDownDelayMs: 'blue-green',
} as const;

/** What a snapshot keeps of each version of the model. */
const versionStateSchema = z.object({
  version: z.string(),
  state: z.enum(['registered', 'deployed']),
  weight: z.number(),
  pools: z.array(z.string()),
});

type VersionState = z.infer<typeof versionStateSchema>;

const DEFAULT_CANARY_STEPS = [10, 25, 50, 100];
const DEFAULT_SCALE_DOWN_DELAY_MS = 30_000;

/**
 * The `gpu-pool` deployment target: releases a model version on GPU pools through the model registry
 * (traffic weights, audited) and placement (loads on the pools' workers), and judges each step from
 * the traffic the gateway served per version.
 *
 * - canary: the new version takes 10, 25, 50 then 100 % of the traffic (or the steps asked for);
 *   the versions it replaces stay loaded with weight 0, so a rollback is a change of weights;
 * - blue-green: the new version is loaded with no traffic (reachable with `version` in a predict
 *   request), analysed on that explicit traffic, then takes 100 % at once; the versions it replaced
 *   stay loaded for `scaleDownDelayMs` (a rollback meanwhile is a change of weights), then are
 *   undeployed and unloaded (a rollback after that loads them again);
 * - rolling: worker by worker (`maxUnavailable` per step), the new version is loaded, the worker's
 *   share of the traffic moves to it, and the versions it replaces are unloaded from that worker,
 *   so each version is served by its own workers; at the end they are undeployed.
 */
export class ModelDeploymentTarget implements DeploymentTarget {
  readonly name = 'gpu-pool';
  readonly title = 'Model versions on GPU pools';
  readonly strategies = ['canary', 'blue-green', 'rolling'] as const;

  constructor(
    private readonly deps: {
      registry: ModelRegistry;
      placement: ModelPlacement;
      artifacts: ModelArtifacts;
      manager: GpuManager;
      traffic: VersionTraffic;
      /** A worker that has not heartbeat for this long fails the network check. */
      heartbeatIntervalMs: number;
    },
  ) {}

  async plan(request: DeploymentRequest): Promise<RolloutStep[]> {
    const spec = this.specOf(request);
    const versions = this.versionsOf(spec.model);
    if (request.strategy === 'blue-green') {
      const delayMs = spec.scaleDownDelayMs ?? DEFAULT_SCALE_DOWN_DELAY_MS;
      return [
        {
          index: 0,
          name: 'load the new version with no traffic',
          weight: 0,
          final: false,
        },
        {
          index: 1,
          name: 'switch all traffic to it',
          weight: 100,
          final: false,
        },
        {
          index: 2,
          name: `unload the versions it replaced after ${delayMs / 1000} s`,
          weight: 100,
          final: true,
        },
      ];
    }
    if (request.strategy === 'rolling') {
      const candidate = versions.find(v => v.version === spec.version);
      // An unregistered version fails validation; its plan is one step, never applied.
      const workers = this.rollingWorkers(spec.pools ?? candidate?.pools ?? []);
      const total = Math.max(1, workers.length);
      const batch = spec.maxUnavailable ?? 1;
      const steps: RolloutStep[] = [];
      for (let done = 0; done < total; ) {
        const from = done + 1;
        done = Math.min(total, done + batch);
        steps.push({
          index: steps.length,
          name: `switch worker${
            from === done ? ` ${done}` : `s ${from}–${done}`
          } of ${total} to the new version, with ${
            from === done ? 'its' : 'their'
          } share of the traffic`,
          weight: Math.round((100 * done) / total),
          final: done === total,
        });
      }
      return steps;
    }
    const steps = request.steps ?? DEFAULT_CANARY_STEPS;
    return steps.map((weight, index) => ({
      index,
      name: `shift ${weight} % of the traffic to the new version`,
      weight,
      final: index === steps.length - 1,
    }));
  }

  async validate(request: DeploymentRequest): Promise<DeploymentCheck[]> {
    const spec = this.specOf(request);
    const checks: DeploymentCheck[] = [];
    const versions = this.versionsOf(spec.model);
    const candidate = versions.find(v => v.version === spec.version);
    checks.push({
      name: 'the version is registered',
      category: 'software',
      passed: !!candidate,
      evidence: `${spec.model} has ${
        versions.map(v => v.version).join(', ') || 'no version'
      }`,
      ...(candidate
        ? {}
        : {
            field: 'spec.version',
            reason: `register ${spec.model}@${spec.version} first (POST /inference/models)`,
          }),
    });
    if (!candidate) return checks;
    const pools = spec.pools ?? candidate.pools;

    let inspected;
    try {
      inspected = await this.deps.artifacts.inspect(candidate.artifact);
    } catch (error) {
      checks.push({
        name: 'the ONNX artifact reads',
        category: 'software',
        passed: false,
        evidence: candidate.artifact,
        field: 'spec.version',
        reason: (error as Error).message,
      });
      return checks;
    }
    checks.push({
      name: 'the artifact is the one registered (SHA-256)',
      category: 'software',
      passed: inspected.sha256 === candidate.sha256,
      evidence: `file ${inspected.sha256.slice(
        0,
        12,
      )}…, registry ${candidate.sha256.slice(0, 12)}…`,
      ...(inspected.sha256 === candidate.sha256
        ? {}
        : {
            field: 'spec.version',
            reason: `${candidate.artifact} changed since it was registered; register it as a new version`,
          }),
    });
    const baseline = this.baselineOf(versions, spec.version);
    const shape = (v: { inputs: unknown; outputs: unknown }) =>
      JSON.stringify([v.inputs, v.outputs]);
    const mismatched = baseline.filter(b => shape(b) !== shape(inspected));
    checks.push({
      name: 'inputs and outputs match the version it replaces',
      category: 'software',
      passed: mismatched.length === 0,
      evidence: baseline.length
        ? `${inspected.inputs
            .map(t => `${t.name}[${t.shape}]`)
            .join(', ')} → ${inspected.outputs
            .map(t => `${t.name}[${t.shape}]`)
            .join(', ')}; serving now: ${baseline
            .map(b => b.version)
            .join(', ')}`
        : 'no version serves traffic now',
      ...(mismatched.length
        ? {
            field: 'spec.version',
            reason: `the tensors differ from version ${mismatched[0].version}'s; callers would break`,
          }
        : {}),
    });

    const now = Date.now();
    for (const [i, pool] of pools.entries()) {
      const workers = this.deps.manager.list(pool);
      const ready = workers.filter(w => w.state === 'ready');
      const fresh = ready.filter(
        w => now - w.lastHeartbeatAt <= 3 * this.deps.heartbeatIntervalMs,
      );
      checks.push({
        name: `pool ${pool}'s workers heartbeat now`,
        category: 'network',
        passed: fresh.length > 0,
        evidence: `${fresh.length} of ${
          workers.length
        } worker(s) heard from in the last ${
          3 * this.deps.heartbeatIntervalMs
        } ms`,
        ...(fresh.length
          ? {}
          : {
              field: `spec.pools.${i}`,
              reason: `no worker of pool ${pool} answers; start one (gekko-worker --pool ${pool}) or check GET /gpu/workers`,
            }),
      });
      const roomy = fresh.filter(w => {
        const { memoryTotalBytes: total, memoryUsedBytes: used } = w.heartbeat;
        return total === undefined || used === undefined
          ? true
          : total - used >= inspected.sizeBytes;
      });
      checks.push({
        name: `pool ${pool} has accelerator memory for the model`,
        category: 'hardware',
        passed: roomy.length > 0,
        evidence: `${roomy.length} ready worker(s) with ${(
          inspected.sizeBytes /
          1024 /
          1024
        ).toFixed(2)} MiB free (or not reporting memory)`,
        ...(roomy.length
          ? {}
          : {
              field: `spec.pools.${i}`,
              reason: `no worker of pool ${pool} has room for the artifact; free memory or add workers`,
            }),
      });
    }
    return checks;
  }

  async snapshot(request: DeploymentRequest): Promise<DeploymentSnapshot> {
    const spec = this.specOf(request);
    const versions: VersionState[] = this.versionsOf(spec.model).map(v => ({
      version: v.version,
      state: v.state,
      weight: v.weight,
      pools: [...v.pools],
    }));
    return {
      target: this.name,
      takenAt: new Date().toISOString(),
      state: { model: spec.model, versions },
    };
  }

  async applyStep(
    request: DeploymentRequest,
    step: RolloutStep,
    context: DeploymentTargetContext,
  ): Promise<void> {
    const spec = this.specOf(request);
    if (request.strategy === 'rolling') {
      await this.applyRollingStep(request, spec, step, context);
      return;
    }
    if (request.strategy === 'blue-green' && step.index === 2) {
      await this.scaleDown(request, spec, context);
      return;
    }
    const audit = this.auditContext(request, context);
    const { registry, placement } = this.deps;
    const candidate = registry.get(spec.model, spec.version);

    // Deployed with no traffic first, and loaded: it takes traffic only once its workers have it.
    const deployed = await registry.deploy(audit, spec.model, spec.version, {
      weight: candidate.state === 'deployed' ? candidate.weight : 0,
      ...(spec.pools ? { pools: spec.pools } : {}),
    });
    const loadErrors = await placement.converge(deployed);
    const loaded = placement.describe(registry.get(spec.model, spec.version))
      .placements.length;
    if (loaded === 0) {
      throw new Error(
        `${spec.model}@${
          spec.version
        } is loaded on no worker of ${deployed.pools.join(', ')}${
          loadErrors.length ? `: ${loadErrors[0].error}` : ''
        }`,
      );
    }
    context.log(
      `${spec.model}@${spec.version} loaded on ${loaded} worker(s)${
        loadErrors.length ? `, failed on ${loadErrors.length}` : ''
      }`,
    );
    await this.shiftTraffic(request, spec, step.weight, context);
  }

  /**
   * One step of a rolling release: the next workers (in pool order, then by id) load the new
   * version, the traffic moves in proportion to the workers that serve it, and the versions it
   * replaces are unloaded from those workers. Each version is then served by its own workers. The
   * last step undeploys the replaced versions, which a rollback deploys and loads again.
   */
  private async applyRollingStep(
    request: DeploymentRequest,
    spec: ModelSpec,
    step: RolloutStep,
    context: DeploymentTargetContext,
  ) {
    const audit = this.auditContext(request, context);
    const { registry, placement } = this.deps;
    const candidate = registry.get(spec.model, spec.version);
    const deployed = await registry.deploy(audit, spec.model, spec.version, {
      weight: candidate.state === 'deployed' ? candidate.weight : 0,
      ...(spec.pools ? { pools: spec.pools } : {}),
    });
    const workers = this.rollingWorkers(deployed.pools);
    if (!workers.length) {
      throw new Error(
        `no ready worker in ${deployed.pools.join(', ')} to switch to ${
          spec.model
        }@${spec.version}`,
      );
    }
    // The plan counted the workers when it was made; one may have joined or left since.
    const count = step.final
      ? workers.length
      : Math.min(
          workers.length,
          Math.max(1, Math.round((step.weight * workers.length) / 100)),
        );
    const batch = workers.slice(0, count);
    const loadErrors = await placement.loadOn(deployed, batch);
    if (loadErrors.length) {
      throw new Error(
        `${spec.model}@${spec.version} did not load on ${loadErrors
          .map(e => `${e.workerId} (${e.error})`)
          .join(', ')}`,
      );
    }
    const share = step.final ? 100 : Math.round((100 * count) / workers.length);
    await this.shiftTraffic(request, spec, share, context);
    const replaced = this.versionsOf(spec.model).filter(
      v => v.version !== spec.version && v.state === 'deployed',
    );
    for (const v of replaced) await placement.unloadFrom(v, batch);
    context.log(
      `${spec.model}@${spec.version} serves on ${batch
        .map(w => w.id)
        .join(', ')} (${count} of ${workers.length} worker(s))${
        replaced.length
          ? `; ${replaced.map(v => v.version).join(', ')} unloaded there`
          : ''
      }`,
    );
    if (step.final) await this.undeployReplaced(request, spec, context);
  }

  /**
   * Blue-green's last step: the versions that lost their traffic at the switch stay loaded for the
   * scale-down delay (a rollback meanwhile is only a change of weights), then are undeployed and
   * unloaded. After a restart the delay starts over: the step is applied again, which is safe.
   */
  private async scaleDown(
    request: DeploymentRequest,
    spec: ModelSpec,
    context: DeploymentTargetContext,
  ) {
    const delayMs = spec.scaleDownDelayMs ?? DEFAULT_SCALE_DOWN_DELAY_MS;
    const idle = this.idleVersions(spec);
    if (idle.length && delayMs > 0) {
      context.log(
        `keeping ${idle
          .map(v => `${spec.model}@${v.version}`)
          .join(', ')} loaded for ${delayMs / 1000} s before unloading`,
      );
      try {
        await delay(delayMs, undefined, { signal: context.signal });
      } catch {
        throw new Error(
          'stopped during the scale-down delay; the step is applied again on resume',
        );
      }
    }
    await this.undeployReplaced(request, spec, context);
  }

  /** Undeploys (and so unloads) every other version of the model that has no traffic left. */
  private async undeployReplaced(
    request: DeploymentRequest,
    spec: ModelSpec,
    context: DeploymentTargetContext,
  ) {
    const audit = this.auditContext(request, context);
    const { registry, placement } = this.deps;
    for (const v of this.idleVersions(spec)) {
      await placement.converge(
        await registry.undeploy(audit, spec.model, v.version),
      );
      context.log(
        `${spec.model}@${v.version} undeployed and unloaded; a rollback loads it again`,
      );
    }
  }

  /** The other deployed versions of the model that get no traffic. */
  private idleVersions(spec: ModelSpec) {
    return this.versionsOf(spec.model).filter(
      v => v.version !== spec.version && v.state === 'deployed' && !v.weight,
    );
  }

  /**
   * Gives the new version `share` % of the traffic; the versions it replaces share the rest in their
   * old proportions.
   */
  private async shiftTraffic(
    request: DeploymentRequest,
    spec: ModelSpec,
    share: number,
    context: DeploymentTargetContext,
  ) {
    const baseline = this.baselineOf(this.versionsOf(spec.model), spec.version);
    const weights: Record<string, number> = { [spec.version]: share };
    const rest = 100 - share;
    const baselineTotal = baseline.reduce((n, v) => n + v.weight, 0);
    for (const v of baseline) {
      weights[v.version] = baselineTotal
        ? Math.round((rest * v.weight) / baselineTotal)
        : 0;
    }
    if (Object.values(weights).every(w => w === 0)) {
      // Blue-green's first step with nothing else serving: the new version is loaded and waits.
      return;
    }
    await this.deps.registry.setTraffic(
      this.auditContext(request, context),
      spec.model,
      { weights },
    );
    context.log(
      `traffic: ${Object.entries(weights)
        .map(([v, w]) => `${v} ${w} %`)
        .join(', ')}`,
    );
  }

  /** The ready workers of `pools`, in pool order then by id: the order a rolling release takes. */
  private rollingWorkers(pools: string[]): ManagedWorker[] {
    return pools.flatMap(pool =>
      this.deps.manager
        .list(pool)
        .filter(w => w.state === 'ready')
        .sort((a, b) => a.id.localeCompare(b.id)),
    );
  }

  async analyse(
    request: DeploymentRequest,
    step: RolloutStep,
    context: DeploymentTargetContext,
  ): Promise<StepAnalysis> {
    const spec = this.specOf(request);
    const thresholds = context.analysis;
    const since = context.stepAppliedAt ?? 0;
    const canary = this.deps.traffic.since(spec.model, spec.version, since);
    const baseline = this.baselineOf(
      this.versionsOf(spec.model),
      spec.version,
    ).map(v => this.deps.traffic.since(spec.model, v.version, since));
    const baselineLatencies = baseline.flatMap(b => b.latenciesMs);
    const baselineAttempts = baseline.reduce((n, b) => n + b.attempts, 0);
    const baselineErrors = baseline.reduce((n, b) => n + b.errors, 0);

    if (canary.attempts < thresholds.minSamples) {
      return {
        verdict: 'inconclusive',
        measurements: [
          {
            name: 'attempts on the new version',
            value: canary.attempts,
            threshold: thresholds.minSamples,
            passed: false,
          },
        ],
        reason: `${canary.attempts} of the ${
          thresholds.minSamples
        } attempts needed have reached ${spec.model}@${
          spec.version
        } since step ${step.index + 1}`,
      };
    }

    return judgeCanary(
      canary,
      {
        attempts: baselineAttempts,
        errors: baselineErrors,
        latenciesMs: baselineLatencies,
      },
      { ...thresholds, final: step.final },
    );
  }

  async restore(
    request: DeploymentRequest,
    snapshot: DeploymentSnapshot,
    context: DeploymentTargetContext,
  ): Promise<void> {
    const spec = this.specOf(request);
    const audit = this.auditContext(request, context);
    const { registry, placement } = this.deps;
    const before = z
      .array(versionStateSchema)
      .parse(snapshot.state.versions ?? []);
    const wanted = new Map(before.map(v => [v.version, v]));
    const placed = new Set<string>();
    // The versions that served first, loaded again where a rolling release or a blue-green
    // scale-down unloaded them; then the others out: traffic never lands on nothing.
    for (const v of before.filter(b => b.state === 'deployed')) {
      let now = registry.get(spec.model, v.version);
      if (
        now.state !== 'deployed' ||
        now.weight !== v.weight ||
        JSON.stringify(now.pools) !== JSON.stringify(v.pools)
      ) {
        now = await registry.deploy(audit, spec.model, v.version, {
          weight: v.weight,
          pools: v.pools,
        });
      }
      await placement.converge(now);
      placed.add(v.version);
    }
    for (const now of this.versionsOf(spec.model)) {
      const was = wanted.get(now.version);
      if (now.state === 'deployed' && (!was || was.state !== 'deployed')) {
        await registry.undeploy(audit, spec.model, now.version);
      }
    }
    for (const now of this.versionsOf(spec.model)) {
      if (!placed.has(now.version)) await placement.converge(now);
    }
    context.log(
      `restored: ${before
        .filter(v => v.state === 'deployed')
        .map(v => `${v.version} ${v.weight}`)
        .join(', ')}`,
    );
  }

  private specOf(request: DeploymentRequest): ModelSpec {
    const spec = parseInput(specSchema, request.spec, 'spec');
    for (const [option, strategy] of Object.entries(STRATEGY_OPTIONS)) {
      if (option in spec && request.strategy !== strategy) {
        throw new InputError(
          `spec.${option}: only a ${strategy} deployment takes it, not a ${request.strategy} one`,
        );
      }
    }
    return spec;
  }

  private versionsOf(model: string): StoredModelVersion[] {
    try {
      return this.deps.registry.versionsOf(model);
    } catch {
      throw new InputError(
        `spec.model: no model named ${model} is registered; GET /inference/models lists them`,
      );
    }
  }

  /** The versions serving traffic now, other than the one being released. */
  private baselineOf(versions: StoredModelVersion[], version: string) {
    return versions.filter(
      v => v.version !== version && v.state === 'deployed' && v.weight > 0,
    );
  }

  private auditContext(
    request: DeploymentRequest,
    context: DeploymentTargetContext,
  ): AuditContext {
    return { actor: context.actor, requestId: `deployment:${request.id}` };
  }
}
