import { AuthService, DiscoveryService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { FINAL_DEPLOYMENT_STATES } from '@gekko/plugin-gekko-common';
import { examples } from './deploymentRollback.examples';
import { followDeployment } from './followDeployment';
import { GekkoAccess } from './GekkoAccess';

/**
 * `gekko:deployment:rollback`: rolls a succeeded deployment back to the snapshot of what it replaced,
 * and waits until the previous release takes the traffic again.
 *
 * @public
 */
export function createDeploymentRollbackAction(options: {
  discovery: DiscoveryService;
  auth: AuthService;
  pollIntervalMs?: number;
}) {
  const gekko = new GekkoAccess(options.discovery, options.auth);
  return createTemplateAction({
    id: 'gekko:deployment:rollback',
    description:
      'Rolls a succeeded deployment back to what it replaced (a change of traffic weights, in seconds)',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        deploymentId: z =>
          z.string().uuid().describe('The deployment to roll back'),
      },
      output: { state: z => z.string() },
    },
    async handler(ctx) {
      const requestOptions = await gekko.as(
        await ctx.getInitiatorCredentials(),
      );
      const { deploymentId } = ctx.input;
      if (ctx.isDryRun) {
        const deployment = await gekko.client.getDeployment(
          deploymentId,
          requestOptions,
        );
        ctx.logger.info(
          `Would roll back deployment ${deploymentId} (${
            deployment.state
          }) to ${JSON.stringify(deployment.snapshot ?? {})}`,
        );
        ctx.output('state', deployment.state);
        return;
      }
      await ctx.checkpoint({
        key: `gekko.deployment.rollback.${deploymentId}`,
        fn: async () => {
          await gekko.client.rollbackDeployment(deploymentId, requestOptions);
        },
      });
      const final = await followDeployment({
        read: () => gekko.client.getDeployment(deploymentId, requestOptions),
        onEvent: event =>
          event.kind === 'rollback' || event.kind === 'error'
            ? ctx.logger.info(`[${event.state}] ${event.message}`)
            : undefined,
        isDone: d =>
          FINAL_DEPLOYMENT_STATES.includes(d.state) && d.state !== 'succeeded',
        intervalMs: options.pollIntervalMs ?? 500,
        signal: ctx.signal,
      });
      ctx.output('state', final.state);
      if (final.state !== 'rolled_back') {
        throw new InputError(
          `Deployment ${deploymentId} did not roll back: ${final.state}${
            final.reason ? ` (${final.reason})` : ''
          }`,
        );
      }
      ctx.logger.info(`Deployment ${deploymentId} is rolled back`);
    },
  });
}
