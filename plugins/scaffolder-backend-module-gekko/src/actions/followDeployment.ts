import type { Deployment, DeploymentEvent } from '@gekko/plugin-gekko-common';

/**
 * Reads a deployment until it is done, handing each event to `onEvent` once, in order; answers the
 * deployment as it ended. Stops early (with what it has) when `signal` aborts.
 */
export async function followDeployment(options: {
  read(): Promise<Deployment>;
  onEvent(event: DeploymentEvent): void;
  isDone(deployment: Deployment): boolean;
  intervalMs: number;
  signal?: AbortSignal;
}): Promise<Deployment> {
  let seen = 0;
  for (;;) {
    const deployment = await options.read();
    for (const event of deployment.events ?? []) {
      if (event.id > seen) {
        options.onEvent(event);
        seen = event.id;
      }
    }
    if (options.isDone(deployment) || options.signal?.aborted) {
      return deployment;
    }
    await new Promise(resolve => setTimeout(resolve, options.intervalMs));
  }
}
