import type { CreateDeploymentRequest } from '@gekko/plugin-gekko-common';
// The scaffolder's own zod (v3 API of the zod it depends on), so the schemas type-check against it.
import { z } from 'zod/v3';

/** The input schema the validate and create actions share: a model version to release. */
export const deploymentInput = {
  entityRef: (zod: typeof z) =>
    zod
      .string()
      .describe(
        'The catalog entity released, e.g. component:default/inference-gateway',
      ),
  strategy: (zod: typeof z) =>
    zod
      .enum(['canary', 'blue-green', 'rolling'])
      .describe('How the release replaces the one before it'),
  model: (zod: typeof z) =>
    zod.string().describe('The model, e.g. nhits-price'),
  version: (zod: typeof z) =>
    zod.string().describe('The registered version to release'),
  pools: (zod: typeof z) =>
    zod
      .array(zod.string())
      .optional()
      .describe('GPU pools (default: the version’s own)'),
  pool: (zod: typeof z) =>
    zod
      .string()
      .optional()
      .describe(
        'One GPU pool instead of the version’s own: a name or its Resource entity ref (resource:default/cpu-dr)',
      ),
  maxUnavailable: (zod: typeof z) =>
    zod
      .number()
      .optional()
      .describe(
        'Rolling: workers switched to the new version per step (default 1)',
      ),
  scaleDownDelaySeconds: (zod: typeof z) =>
    zod
      .number()
      .optional()
      .describe(
        'Blue-green: how long the replaced version stays loaded after the switch (default 30)',
      ),
  steps: (zod: typeof z) =>
    zod
      .string()
      .regex(
        /^\s*\d{1,3}(\s*,\s*\d{1,3})*\s*$/,
        'must be percentages separated by commas',
      )
      .optional()
      .describe(
        'Canary traffic steps in percent, ascending, ending at 100: "10, 25, 50, 100" (the default)',
      ),
  pauseSeconds: (zod: typeof z) =>
    zod
      .number()
      .optional()
      .describe('Wait after each step before its analysis (default 30)'),
  maxP99Ms: (zod: typeof z) =>
    zod
      .number()
      .optional()
      .describe('p99 latency the new version must stay under (default 50)'),
  maxErrorRate: (zod: typeof z) =>
    zod
      .number()
      .optional()
      .describe('Share of failed requests allowed (default 0.001)'),
  minSamples: (zod: typeof z) =>
    zod
      .number()
      .optional()
      .describe('Requests on the new version before a verdict (default 20)'),
  analysisTimeoutSeconds: (zod: typeof z) =>
    zod
      .number()
      .optional()
      .describe('How long to wait for that traffic (default 120)'),
};

/** A pool's name, from its name or the entity ref of its Resource (`resource:default/cpu-dr`). */
export function poolName(pool: string): string {
  return pool.slice(pool.lastIndexOf('/') + 1).replace(/^resource:/i, '');
}

/** The action's input as the gekko backend's deployment request. */
export function toDeploymentRequest(input: {
  entityRef: string;
  strategy: 'canary' | 'blue-green' | 'rolling';
  model: string;
  version: string;
  pools?: string[];
  pool?: string;
  maxUnavailable?: number;
  scaleDownDelaySeconds?: number;
  steps?: string;
  pauseSeconds?: number;
  maxP99Ms?: number;
  maxErrorRate?: number;
  minSamples?: number;
  analysisTimeoutSeconds?: number;
}): Omit<CreateDeploymentRequest, 'dryRun'> {
  const steps = input.steps
    ?.split(',')
    .map(s => s.trim())
    .filter(Boolean)
    .map(Number);
  const analysis = {
    ...(input.maxP99Ms !== undefined ? { maxP99Ms: input.maxP99Ms } : {}),
    ...(input.maxErrorRate !== undefined
      ? { maxErrorRate: input.maxErrorRate }
      : {}),
    ...(input.minSamples !== undefined ? { minSamples: input.minSamples } : {}),
    ...(input.analysisTimeoutSeconds !== undefined
      ? { timeoutMs: Math.round(input.analysisTimeoutSeconds * 1000) }
      : {}),
  };
  const pools = [
    ...(input.pools ?? []),
    ...(input.pool ? [input.pool] : []),
  ].map(poolName);
  return {
    entityRef: input.entityRef,
    target: 'gpu-pool',
    strategy: input.strategy,
    spec: {
      model: input.model,
      version: input.version,
      ...(pools.length ? { pools } : {}),
      // A template passes every option; the backend takes each only with its own strategy.
      ...(input.strategy === 'rolling' && input.maxUnavailable !== undefined
        ? { maxUnavailable: input.maxUnavailable }
        : {}),
      ...(input.strategy === 'blue-green' &&
      input.scaleDownDelaySeconds !== undefined
        ? { scaleDownDelayMs: Math.round(input.scaleDownDelaySeconds * 1000) }
        : {}),
    },
    ...(input.strategy === 'canary' && steps?.length ? { steps } : {}),
    ...(input.pauseSeconds !== undefined
      ? { pauseMs: Math.round(input.pauseSeconds * 1000) }
      : {}),
    analysis,
  };
}

/** One line per check, as the task log shows the validation table. */
export function describeChecks(
  checks: Array<{
    name: string;
    passed: boolean;
    evidence: string;
    reason?: string;
  }>,
): string[] {
  return checks.map(
    c =>
      `${c.passed ? '✔' : '✘'} ${c.name}: ${c.evidence}${
        c.reason ? ` — ${c.reason}` : ''
      }`,
  );
}
