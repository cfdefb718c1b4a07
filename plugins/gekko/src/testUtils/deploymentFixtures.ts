import type { Deployment, ModelVersion } from '@gekko/plugin-gekko-common';
import captured from './capturedDeployments.json';

/**
 * Deployments as a real gekko backend answered them (see `_about` in the JSON): a 4-step canary of
 * `mlp@2` that succeeded, the same rolled back on request, and one whose analysis failed and
 * rolled back by itself, with their events and evidence; and the model versions after each.
 */
export const succeededCanary = captured.succeeded as unknown as Deployment;
export const rolledBackByHand =
  captured.rolledBackByHand as unknown as Deployment;
export const failedAnalysis = captured.failedAnalysis as unknown as Deployment;
export const versionsAfterSucceeded =
  captured.versionsAfterSucceeded as unknown as ModelVersion[];
export const versionsNow = captured.versionsNow as unknown as ModelVersion[];

/**
 * The succeeded canary as it was while step 2 (25 %) was under verification: its first six
 * events, which the backend had written by then.
 */
export function canaryInFlight(events = 6): Deployment {
  const { finishedAt, ...rest } = succeededCanary;
  const kept = succeededCanary.events!.slice(0, events);
  const last = kept[kept.length - 1];
  return {
    ...rest,
    state: last.state,
    step: last.step ?? 0,
    updatedAt: last.time,
    events: kept,
  };
}
