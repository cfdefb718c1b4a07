import {
  createExtensionPoint,
  LoggerService,
} from '@backstage/backend-plugin-api';
import type { JsonValue } from '@gekko/plugin-gekko-common';

/** How a release replaces the one before it. @public */
export type DeploymentStrategy = 'blue-green' | 'canary' | 'rolling';

/** A JSON object, as deployment specs and snapshots are stored. @public */
export type DeploymentJson = { [key: string]: JsonValue };

/**
 * One deployment, as the orchestrator hands it to its target: what to roll out, where, and how.
 *
 * @public
 */
export interface DeploymentRequest {
  /** The deployment's id; the same on every call for one deployment, and after a restart. */
  id: string;
  /** The entity being released, e.g. `component:default/trading-engine`. */
  entityRef: string;
  /** The name of the target that handles it (see {@link DeploymentTarget.name}). */
  target: string;
  strategy: DeploymentStrategy;
  /**
   * What to release, in the target's own terms, as the template or API gave it: for a model
   * target a model, a version and its pools; for a Kubernetes target a workload, an image and a
   * namespace. The target checks it in {@link DeploymentTarget.validate}.
   */
  spec: DeploymentJson;
  /** For a canary: the traffic steps asked for, in percent (the target's defaults otherwise). */
  steps?: number[];
}

/**
 * One step of a rollout, planned by the orchestrator from the strategy: a blue-green release is
 * `prepare` (0 %) then `switch` (100 %); a canary shifts 10, 25, 50, 100 %; a rolling release
 * replaces a batch of instances per step.
 *
 * @public
 */
export interface RolloutStep {
  /** 0-based position in the plan. */
  index: number;
  /** What the step does, for logs and the UI, e.g. `shift traffic to 25 %`. */
  name: string;
  /** The share, 0–100, of traffic (or of instances, for a rolling release) on the new release once the step is applied. */
  weight: number;
  /** Whether this is the last step (everything on the new release). */
  final: boolean;
}

/** What a target needs from the orchestrator while it works on a deployment. @public */
export interface DeploymentTargetContext {
  logger: LoggerService;
  /** Streams a line to the deployment's log (the scaffolder task log, the Deployments tab). */
  log(message: string): void;
  /** Aborted when the deployment is cancelled or the backend shuts down; stop and let it resume. */
  signal: AbortSignal;
  /** Who started the deployment (a user entity ref or a service subject), for the target's own records. */
  actor: string;
  /** When the step under analysis was applied (epoch ms): what came before is not its evidence. */
  stepAppliedAt?: number;
  /** The thresholds the deployment asked its analysis to hold the new release to. */
  analysis: AnalysisThresholds;
}

/** Thresholds of a deployment's analysis; their defaults are the seed's SLOs. @public */
export interface AnalysisThresholds {
  /** p99 latency the new release must stay under, in ms (default 50). */
  maxP99Ms: number;
  /** Share of failed requests it may have (default 0.001, 0.1 %). */
  maxErrorRate: number;
  /** Requests it must have served before a verdict; fewer is inconclusive (default 20). */
  minSamples: number;
  /**
   * Score (0–100: the share of comparisons with the versions it replaces that passed) at or above
   * which a step passes (default 100).
   */
  passScore?: number;
  /**
   * Score at or above which, below `passScore`, a step is marginal: a step before the last goes
   * on, the last fails (default 75).
   */
  marginalScore?: number;
}

/**
 * One check of a deployment's validation, passed or not, with what it looked at: the rows of the
 * validation table a person reads before anything changes.
 *
 * @public
 */
export interface DeploymentCheck {
  /** What is checked, e.g. `artifact SHA-256 matches the registry`. */
  name: string;
  /** `hardware`, `software`, `network` or `security`. */
  category: 'hardware' | 'software' | 'network' | 'security';
  passed: boolean;
  /** What the check saw, e.g. `2 ready workers, 1.2 GiB free, artifact 0.2 MiB`. */
  evidence: string;
  /** When it failed: the field of the request it is about, e.g. `spec.version`. */
  field?: string;
  /** When it failed: what is wrong and what to do. */
  reason?: string;
}

/**
 * What a deployment replaces, taken before anything changes and stored by the orchestrator before
 * the first step: all the target needs to put it back in {@link DeploymentTarget.restore}.
 *
 * @public
 */
export interface DeploymentSnapshot {
  /** The target that took it. */
  target: string;
  /** When it was taken (ISO 8601). */
  takenAt: string;
  /** The state to restore, in the target's terms (e.g. each version's state, weight and pools). */
  state: DeploymentJson;
}

/** One measurement an analysis judged. @public */
export interface AnalysisMeasurement {
  /** e.g. `error rate`, `p99 latency`. */
  name: string;
  value: number;
  unit?: string;
  /** The bound it was judged against, if any. */
  threshold?: number;
  passed: boolean;
}

/**
 * The verdict on the new release after a step: `pass` goes on, `fail` rolls back, `inconclusive`
 * (too little data yet) lets the orchestrator wait and ask again, up to its limit.
 *
 * @public
 */
export interface StepAnalysis {
  verdict: 'pass' | 'fail' | 'inconclusive';
  measurements: AnalysisMeasurement[];
  /** Why, in a sentence a person reads in the deployment log. */
  reason?: string;
  /** What the verdict rests on beyond the measurements: sample sizes, score, test statistics. */
  evidence?: { [key: string]: unknown };
}

/**
 * Something a validated deployment can release to: model versions on GPU pools, workloads on
 * Kubernetes, … The orchestrator drives every target through the same phases, and never needs to
 * know which target it talks to:
 *
 * 1. validation: {@link DeploymentTarget.validate}, and the plan from {@link DeploymentTarget.plan};
 * 2. preparation: {@link DeploymentTarget.snapshot}, stored before anything changes;
 * 3. activation: {@link DeploymentTarget.applyStep} for each step of the plan;
 * 4. verification: {@link DeploymentTarget.analyse} after each step;
 *
 * and on a failed check or analysis, or a person's rollback, {@link DeploymentTarget.restore}.
 * Every method may be called again for the same deployment after a backend restart, so each must be
 * idempotent: applying a step twice, or restoring twice, leaves the same state as once.
 *
 * @public
 */
export interface DeploymentTarget {
  /** The name deployments and the `gekko.io/deployment-target` annotation use, e.g. `gpu-pool`. */
  readonly name: string;
  /** A title for people, e.g. `Model versions on GPU pools`. */
  readonly title: string;
  /** The strategies it can carry out. */
  readonly strategies: readonly DeploymentStrategy[];

  /** Checks a request without changing anything; it can go ahead when every check passed. */
  validate(
    request: DeploymentRequest,
    context: DeploymentTargetContext,
  ): Promise<DeploymentCheck[]>;

  /** The rollout steps of a strategy for this request, planned before anything changes. */
  plan(request: DeploymentRequest): Promise<RolloutStep[]>;

  /** Records what the deployment will replace. */
  snapshot(
    request: DeploymentRequest,
    context: DeploymentTargetContext,
  ): Promise<DeploymentSnapshot>;

  /** Applies one step of the rollout (loads the new release, shifts traffic, replaces a batch). */
  applyStep(
    request: DeploymentRequest,
    step: RolloutStep,
    context: DeploymentTargetContext,
  ): Promise<void>;

  /** Judges the new release after a step, against the service's objectives. */
  analyse(
    request: DeploymentRequest,
    step: RolloutStep,
    context: DeploymentTargetContext,
  ): Promise<StepAnalysis>;

  /** Puts back what the snapshot recorded: the rollback. */
  restore(
    request: DeploymentRequest,
    snapshot: DeploymentSnapshot,
    context: DeploymentTargetContext,
  ): Promise<void>;
}

/**
 * Adds deployment targets to the gekko backend, from a backend module:
 *
 * ```ts
 * export default createBackendModule({
 *   pluginId: 'gekko',
 *   moduleId: 'kubernetes-target',
 *   register(env) {
 *     env.registerInit({
 *       deps: { targets: gekkoDeploymentTargetsExtensionPoint },
 *       async init({ targets }) {
 *         targets.addDeploymentTarget(new KubernetesDeploymentTarget());
 *       },
 *     });
 *   },
 * });
 * ```
 *
 * @public
 */
export interface GekkoDeploymentTargetsExtensionPoint {
  /** Registers targets; a second target with a name already registered is refused at start-up. */
  addDeploymentTarget(
    ...targets: Array<DeploymentTarget | DeploymentTarget[]>
  ): void;
}

/**
 * The extension point of deployment targets.
 *
 * @public
 */
export const gekkoDeploymentTargetsExtensionPoint =
  createExtensionPoint<GekkoDeploymentTargetsExtensionPoint>({
    id: 'gekko.deployment-targets',
  });
