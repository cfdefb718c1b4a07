import { AuthService, DiscoveryService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  Deployment,
  DeploymentEvent,
  FINAL_DEPLOYMENT_STATES,
} from '@gekko/plugin-gekko-common';
import { examples } from './deploymentCreate.examples';
import {
  deploymentInput,
  describeChecks,
  toDeploymentRequest,
} from './deploymentInput';
import { followDeployment } from './followDeployment';
import { GekkoAccess } from './GekkoAccess';

/**
 * `gekko:deployment:create`: starts a validated deployment and follows it to its end, writing every
 * phase, step and verdict into the task log; the task fails when the deployment ends rolled back or
 * failed. The deployment id is a checkpoint, so a recovered task follows the same deployment.
 *
 * @public
 */
export function createDeploymentCreateAction(options: {
  discovery: DiscoveryService;
  auth: AuthService;
  /** How often the deployment is read while it runs; defaults to 1 s. */
  pollIntervalMs?: number;
}) {
  const gekko = new GekkoAccess(options.discovery, options.auth);
  return createTemplateAction({
    id: 'gekko:deployment:create',
    description:
      'Releases a model version on GPU pools as a validated canary, blue-green or rolling deployment, and follows it until it succeeds or rolls back',
    examples,
    supportsDryRun: true,
    schema: {
      input: deploymentInput,
      output: {
        deploymentId: z => z.string().optional(),
        state: z => z.string(),
        entityUrl: z => z.string(),
        /** The entity's Deployments tab, where the deployment shows live. */
        deploymentsUrl: z => z.string(),
      },
    },
    async handler(ctx) {
      const request = toDeploymentRequest(ctx.input);
      const [kind, rest] = request.entityRef.split(':');
      const [namespace, name] = rest?.includes('/')
        ? rest.split('/')
        : ['default', rest];
      ctx.output('entityUrl', `/catalog/${namespace}/${kind}/${name}`);
      ctx.output(
        'deploymentsUrl',
        `/catalog/${namespace}/${kind}/${name}/deployments`,
      );
      const initiator = await ctx.getInitiatorCredentials();

      if (ctx.isDryRun) {
        const dry = await gekko.client.dryRunDeployment(
          request,
          await gekko.as(initiator),
        );
        for (const line of describeChecks(dry.checks)) ctx.logger.info(line);
        ctx.output('state', dry.valid ? 'valid' : 'invalid');
        return;
      }

      const deploymentId = await ctx.checkpoint({
        key: 'gekko.deployment.create',
        fn: async () => {
          const created = await gekko.client.createDeployment(
            request,
            await gekko.as(initiator),
          );
          return created.id;
        },
      });
      ctx.output('deploymentId', deploymentId);
      ctx.logger.info(
        `Deployment ${deploymentId} of ${request.spec.model}@${request.spec.version} (${request.strategy})`,
      );

      const final = await followDeployment({
        read: async () =>
          gekko.client.getDeployment(deploymentId, await gekko.as(initiator)),
        onEvent: (event: DeploymentEvent) => ctx.logger.info(describe(event)),
        isDone: (d: Deployment) => FINAL_DEPLOYMENT_STATES.includes(d.state),
        intervalMs: options.pollIntervalMs ?? 1000,
        signal: ctx.signal,
      });
      ctx.output('state', final.state);
      if (final.state !== 'succeeded') {
        throw new InputError(
          `Deployment ${deploymentId} ended ${final.state}: ${
            final.reason ?? 'no reason given'
          }`,
        );
      }
    },
  });
}

/** One task-log line per deployment event; a verdict carries its measurements. */
function describe(event: DeploymentEvent): string {
  const step = event.step === null ? '' : ` (step ${event.step + 1})`;
  const evidence = event.evidence as
    | {
        measurements?: Array<{
          name: string;
          value: number;
          threshold?: number;
          passed: boolean;
        }>;
      }
    | Array<{ name: string; passed: boolean; evidence: string }>
    | undefined;
  let detail = '';
  if (Array.isArray(evidence)) {
    detail = ` — ${describeChecks(evidence).join('; ')}`;
  } else if (evidence?.measurements) {
    detail = ` — ${evidence.measurements
      .map(
        m =>
          `${m.passed ? '✔' : '✘'} ${m.name} ${Number(m.value).toPrecision(3)}${
            m.threshold !== undefined ? ` (limit ${m.threshold})` : ''
          }`,
      )
      .join(', ')}`;
  }
  return `[${event.state}]${step} ${event.message}${detail}`;
}
