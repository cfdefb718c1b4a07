import { AuthService, DiscoveryService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { examples } from './deploymentValidate.examples';
import {
  deploymentInput,
  describeChecks,
  toDeploymentRequest,
} from './deploymentInput';
import { GekkoAccess } from './GekkoAccess';

/**
 * `gekko:deployment:validate`: the validation table and the plan of a deployment, with nothing
 * changed; fails the task when a check fails.
 *
 * @public
 */
export function createDeploymentValidateAction(options: {
  discovery: DiscoveryService;
  auth: AuthService;
}) {
  const gekko = new GekkoAccess(options.discovery, options.auth);
  return createTemplateAction({
    id: 'gekko:deployment:validate',
    description:
      'Validates a deployment of a model version on GPU pools and plans its steps, changing nothing',
    examples,
    supportsDryRun: true,
    schema: {
      input: deploymentInput,
      output: {
        valid: z => z.boolean(),
        steps: z =>
          z
            .string()
            .describe('The planned traffic steps, e.g. "10, 25, 50, 100"'),
      },
    },
    async handler(ctx) {
      const result = await gekko.client.dryRunDeployment(
        toDeploymentRequest(ctx.input),
        await gekko.as(await ctx.getInitiatorCredentials()),
      );
      for (const line of describeChecks(result.checks)) ctx.logger.info(line);
      ctx.logger.info(
        `Plan: ${result.plan.map(s => `${s.index + 1}. ${s.name}`).join('; ')}`,
      );
      ctx.output('valid', result.valid);
      ctx.output('steps', result.plan.map(s => s.weight).join(', '));
      if (!result.valid) {
        throw new InputError(
          `The deployment would fail validation: ${result.checks
            .filter(c => !c.passed)
            .map(c => `${c.name} (${c.reason ?? c.evidence})`)
            .join('; ')}`,
        );
      }
    },
  });
}
