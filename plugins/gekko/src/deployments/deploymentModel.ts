import {
  Deployment,
  DeploymentEvent,
  DeploymentState,
  FINAL_DEPLOYMENT_STATES,
} from '@gekko/plugin-gekko-common';

/** The four phases every deployment goes through, in order, and the states that belong to each. */
export const DEPLOYMENT_PHASES = [
  { name: 'Validation', states: ['pending', 'validating'] },
  { name: 'Preparation', states: ['preparing'] },
  { name: 'Activation', states: ['activating'] },
  { name: 'Verification', states: ['verifying'] },
] as const satisfies ReadonlyArray<{
  name: string;
  states: readonly DeploymentState[];
}>;

/** Whether a deployment has stopped moving by itself. */
export function isFinished(deployment: Pick<Deployment, 'state'>): boolean {
  return FINAL_DEPLOYMENT_STATES.includes(deployment.state);
}

/**
 * Where a deployment is among {@link DEPLOYMENT_PHASES}: the index of its phase, or the number of
 * phases once it has left them (succeeded, rolling back, rolled back, failed).
 */
export function phaseIndex(state: DeploymentState): number {
  const index = DEPLOYMENT_PHASES.findIndex(p =>
    (p.states as readonly DeploymentState[]).includes(state),
  );
  return index === -1 ? DEPLOYMENT_PHASES.length : index;
}

/** What is released, in a few words: `nhits-price@2` for a model, or the spec's own keys. */
export function releaseOf(deployment: Pick<Deployment, 'spec'>): string {
  const { model, version } = deployment.spec as {
    model?: unknown;
    version?: unknown;
  };
  if (typeof model === 'string' && typeof version === 'string') {
    return `${model}@${version}`;
  }
  return Object.entries(deployment.spec)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
}

/** The model a deployment releases, when it releases one. */
export function modelOf(deployment: Pick<Deployment, 'spec'>) {
  const { model } = deployment.spec as { model?: unknown };
  return typeof model === 'string' ? model : undefined;
}

/** One figure of an analysis, as the backend judged it. */
export interface Measurement {
  name: string;
  value: number | null;
  unit?: string;
  threshold?: number;
  passed: boolean;
}

/** Latency and outcome of one side (the new release, or the ones it replaces) over a step. */
export interface SideEvidence {
  attempts: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** The analysis after one step: its verdict, its measurements and the evidence under them. */
export interface StepAnalysisView {
  /** 0-based index of the step it judged. */
  step: number;
  /** Traffic share of the new release during the step, in percent. */
  weight: number;
  stepName: string;
  verdict: 'pass' | 'fail' | 'inconclusive';
  time: string;
  message: string;
  reason?: string;
  measurements: Measurement[];
  score?: number;
  /** Kayenta's class of the score: a marginal step before the last goes on. */
  classification?: 'pass' | 'marginal' | 'fail';
  canary?: SideEvidence;
  baseline?: SideEvidence;
  comparison?: Record<string, number>;
}

function asSide(value: unknown): SideEvidence | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  const num = (x: unknown) => (typeof x === 'number' ? x : null);
  return {
    attempts: num(v.attempts) ?? 0,
    errors: num(v.errors) ?? 0,
    p50Ms: num(v.p50Ms),
    p99Ms: num(v.p99Ms),
  };
}

/**
 * The analyses of a deployment, step by step, from its events. An analysis event is stored with
 * the state it led to, so the step it judged is the one the last `step` event applied.
 */
export function analysesOf(
  deployment: Pick<Deployment, 'plan' | 'events'>,
): StepAnalysisView[] {
  const analyses: StepAnalysisView[] = [];
  let applied = 0;
  for (const event of deployment.events ?? []) {
    if (event.kind === 'step' && event.step !== null) applied = event.step;
    if (event.kind !== 'analysis' || !event.evidence) continue;
    const evidence = event.evidence as {
      verdict?: StepAnalysisView['verdict'];
      measurements?: Array<Measurement & { value: number | null }>;
      reason?: string;
      evidence?: Record<string, unknown>;
    };
    const step = deployment.plan[applied];
    const details = evidence.evidence ?? {};
    analyses.push({
      step: applied,
      weight: step?.weight ?? 0,
      stepName: step?.name ?? `step ${applied + 1}`,
      verdict: evidence.verdict ?? 'inconclusive',
      time: event.time,
      message: event.message,
      ...(evidence.reason ? { reason: evidence.reason } : {}),
      measurements: (evidence.measurements ?? []).map(m => ({
        ...m,
        // JSON has no NaN: a figure the backend could not compute arrives as null.
        value: typeof m.value === 'number' ? m.value : null,
      })),
      ...(typeof details.score === 'number' ? { score: details.score } : {}),
      ...(details.classification === 'marginal' ||
      details.classification === 'pass' ||
      details.classification === 'fail'
        ? { classification: details.classification }
        : {}),
      ...(asSide(details.canary) ? { canary: asSide(details.canary) } : {}),
      ...(asSide(details.baseline)
        ? { baseline: asSide(details.baseline) }
        : {}),
      ...(details.comparison && typeof details.comparison === 'object'
        ? { comparison: details.comparison as Record<string, number> }
        : {}),
    });
  }
  return analyses;
}

/** One version of a model as a snapshot recorded it: what a rollback puts back. */
export interface SnapshotVersion {
  version: string;
  state: string;
  weight: number;
  pools: string[];
}

/** What a rollback of the deployment restores, when its target is the model target. */
export function snapshotOf(
  deployment: Pick<Deployment, 'snapshot'>,
):
  | { model?: string; versions: SnapshotVersion[]; takenAt?: string }
  | undefined {
  const snapshot = deployment.snapshot as
    | { takenAt?: string; state?: { model?: string; versions?: unknown } }
    | undefined;
  if (!snapshot?.state) return undefined;
  const versions = Array.isArray(snapshot.state.versions)
    ? (snapshot.state.versions as SnapshotVersion[])
    : [];
  return {
    model: snapshot.state.model,
    versions,
    takenAt: snapshot.takenAt,
  };
}

/** How far a deployment's rollout has gone: steps applied and the traffic share reached. */
export function progressOf(deployment: Deployment): {
  applied: number;
  total: number;
  weight: number;
} {
  const total = deployment.plan.length;
  const events = deployment.events ?? [];
  const appliedSteps = new Set(
    events
      .filter(e => e.kind === 'step' && e.step !== null)
      .map(e => e.step as number),
  );
  let applied = appliedSteps.size;
  if (!events.length) {
    // The list answers without events: judge from the state and the step.
    applied =
      deployment.state === 'succeeded'
        ? total
        : deployment.step + (deployment.state === 'verifying' ? 1 : 0);
  }
  const last = [...appliedSteps].sort((a, b) => b - a)[0];
  const weight =
    deployment.state === 'rolled_back' || last === undefined
      ? 0
      : deployment.plan[last]?.weight ?? 0;
  return { applied: Math.min(applied, total), total, weight };
}

/** The latest event, for a one-line status. */
export function lastEvent(
  deployment: Pick<Deployment, 'events'>,
): DeploymentEvent | undefined {
  const events = deployment.events ?? [];
  return events[events.length - 1];
}

/** How long a deployment ran, or has been running. */
export function durationOf(deployment: Deployment, now = Date.now()): number {
  let end = now;
  if (deployment.finishedAt) end = Date.parse(deployment.finishedAt);
  else if (isFinished(deployment)) end = Date.parse(deployment.updatedAt);
  return Math.max(0, end - Date.parse(deployment.createdAt));
}

/** `850 ms`, `6.2 s`, `3 min 4 s`, `2 h 5 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) {
    return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
  }
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A measurement's value with its unit: `7.97 ms`, `0.10 %` for a rate, `1.02×` for a ratio. */
export function formatMeasurement(
  m: Pick<Measurement, 'name' | 'unit'>,
  value: number | null | undefined,
): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  if (m.unit === 'ms') return `${value.toFixed(2)} ms`;
  if (/rate/.test(m.name)) return `${(value * 100).toFixed(2)} %`;
  if (m.unit === 'ratio') return `${value.toFixed(2)}×`;
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}
