import { z } from 'zod';
import { resourceName } from './validation';

/** A deployment target a backend module registered, as `GET /deployments/targets` lists it. @public */
export interface DeploymentTargetSummary {
  /** The name deployments and the `gekko.io/deployment-target` annotation use, e.g. `gpu-pool`. */
  name: string;
  title: string;
  /** The strategies it can carry out: `blue-green`, `canary`, `rolling`. */
  strategies: string[];
}

/** The answer of `GET /deployments/targets`. @public */
export interface DeploymentTargetList {
  items: DeploymentTargetSummary[];
}

/** The strategies a deployment can use. @public */
export const DEPLOYMENT_STRATEGIES = [
  'canary',
  'blue-green',
  'rolling',
] as const;

/**
 * Where a deployment is: `pending → validating → preparing → activating → verifying → succeeded`;
 * on a failed check or analysis `→ rolling_back → rolled_back`; `failed` when it could not even be
 * rolled back, or was refused by validation before anything changed.
 *
 * @public
 */
export const DEPLOYMENT_STATES = [
  'pending',
  'validating',
  'preparing',
  'activating',
  'verifying',
  'succeeded',
  'rolling_back',
  'rolled_back',
  'failed',
] as const;

/** @public */
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

/** States a deployment does not leave by itself. @public */
export const FINAL_DEPLOYMENT_STATES: readonly DeploymentState[] = [
  'succeeded',
  'rolled_back',
  'failed',
];

/** Body of `POST /deployments`. @public */
export const createDeploymentSchema = z
  .object({
    entityRef: z.string().min(1).max(255),
    target: resourceName('deployment target'),
    strategy: z.enum(DEPLOYMENT_STRATEGIES),
    /** The target's own request, e.g. `{ model, version }` for `gpu-pool`. */
    spec: z.record(z.string(), z.unknown()),
    /** Canary traffic steps in percent, ascending, ending at 100. */
    steps: z
      .array(z.number().int().min(1).max(100))
      .min(1)
      .max(20)
      .refine(
        s => s.every((w, i) => i === 0 || w > s[i - 1]),
        'must go up, step after step',
      )
      .refine(s => s[s.length - 1] === 100, 'the last step must be 100')
      .optional(),
    /** Wait after each step before its analysis, in ms. */
    pauseMs: z.number().int().min(0).max(3_600_000).default(30_000),
    analysis: z
      .object({
        /** p99 latency the new version must stay under, in ms (the seed's SLO: 50). */
        maxP99Ms: z.number().positive().max(60_000).default(50),
        /** Share of failed attempts the new version may have (the seed's SLO: 0.1 %). */
        maxErrorRate: z.number().min(0).max(1).default(0.001),
        /** Attempts on the new version before a verdict; fewer is inconclusive. */
        minSamples: z.number().int().min(0).max(1_000_000).default(20),
        /** How long to wait for enough traffic before the verdict is a failure, in ms. */
        timeoutMs: z.number().int().min(0).max(3_600_000).default(120_000),
        /**
         * Kayenta-style score (share of the comparisons with the versions it replaces that
         * passed, 0–100) at or above which a step passes.
         */
        passScore: z.number().min(0).max(100).default(100),
        /**
         * Score at or above which, below `passScore`, a step is marginal: a step before the last
         * goes on, the last one fails. Below it the step fails.
         */
        marginalScore: z.number().min(0).max(100).default(75),
      })
      .strict()
      .refine(a => a.marginalScore <= a.passScore, {
        message: 'must not be above passScore',
        path: ['marginalScore'],
      })
      .default({}),
    /** Only validate and plan: nothing is stored or changed. */
    dryRun: z.boolean().default(false),
  })
  .strict();

/** A deployment request as the API takes it. @public */
export type CreateDeploymentRequest = z.input<typeof createDeploymentSchema>;

/** One row of a deployment's validation table. @public */
export interface DeploymentCheckResult {
  name: string;
  category: 'hardware' | 'software' | 'network' | 'security';
  passed: boolean;
  evidence: string;
  field?: string;
  reason?: string;
}

/** One step of a deployment's plan. @public */
export interface DeploymentStepPlan {
  index: number;
  name: string;
  weight: number;
  final: boolean;
}

/** Something that happened to a deployment, in order. @public */
export interface DeploymentEvent {
  id: number;
  time: string;
  kind: 'state' | 'step' | 'analysis' | 'rollback' | 'error';
  state: DeploymentState;
  step: number | null;
  message: string;
  evidence?: unknown;
}

/** A deployment as the API shows it. @public */
export interface Deployment {
  id: string;
  entityRef: string;
  target: string;
  strategy: (typeof DEPLOYMENT_STRATEGIES)[number];
  spec: Record<string, unknown>;
  options: { pauseMs: number; analysis: Record<string, number> };
  plan: DeploymentStepPlan[];
  checks?: DeploymentCheckResult[];
  snapshot?: unknown;
  state: DeploymentState;
  step: number;
  reason?: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  events?: DeploymentEvent[];
}

/** The answer of a dry run: the validation table and the plan; nothing changed. @public */
export interface DeploymentDryRun {
  dryRun: true;
  valid: boolean;
  checks: DeploymentCheckResult[];
  plan: DeploymentStepPlan[];
}

/**
 * What the backend pushes (Backstage signals) each time a deployment changes state or step: enough
 * to say what happened; the page reads the deployment again for the rest.
 *
 * @public
 */
export interface DeploymentSignal {
  [key: string]: string | number;
  id: string;
  entityRef: string;
  state: DeploymentState;
  /** 0-based step of the plan. */
  step: number;
  /** The event's kind: `state`, `step`, `analysis`, `rollback` or `error`. */
  kind: DeploymentEvent['kind'];
  message: string;
  time: string;
}

/**
 * The signals channel of one entity's deployments, e.g.
 * `gekko:deployments:component:default/trading-engine` (the ref lower-cased, as the API stores it).
 *
 * @public
 */
export function deploymentSignalChannel(entityRef: string): string {
  return `gekko:deployments:${entityRef.toLocaleLowerCase('en-US')}`;
}
