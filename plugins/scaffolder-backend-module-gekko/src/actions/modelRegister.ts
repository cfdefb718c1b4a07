import { AuthService, DiscoveryService } from '@backstage/backend-plugin-api';
import { InputError, ResponseError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { examples } from './modelRegister.examples';
import { GekkoAccess } from './GekkoAccess';
import { poolName } from './deploymentInput';

/**
 * `gekko:model:register`: registers a model version from an ONNX file in the gekko backend's models
 * folder (`POST /inference/models`), on behalf of the person who started the task. Registering does
 * not deploy: the version takes no traffic until a deployment releases it. Running it again for a
 * version already registered from the same file is not an error.
 *
 * @public
 */
export function createModelRegisterAction(options: {
  discovery: DiscoveryService;
  auth: AuthService;
}) {
  const gekko = new GekkoAccess(options.discovery, options.auth);
  return createTemplateAction({
    id: 'gekko:model:register',
    description:
      'Registers a model version from an ONNX file in the models folder, with its GPU pool; it takes no traffic until deployed',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        name: z => z.string().describe('The model, e.g. nhits-price'),
        version: z => z.string().describe('The new version, e.g. 2'),
        artifact: z =>
          z
            .string()
            .describe(
              'Path of the ONNX file inside the models folder, e.g. nhits-price/2/model.onnx',
            ),
        pool: z =>
          z
            .string()
            .describe(
              'The GPU pool that serves it: a name (cpu-dr) or its Resource entity ref (resource:default/cpu-dr)',
            ),
        description: z =>
          z.string().optional().describe('What this version is'),
      },
      output: {
        sha256: z => z.string().optional(),
        state: z => z.string(),
      },
    },
    async handler(ctx) {
      const { name, version, artifact, description } = ctx.input;
      const pool = poolName(ctx.input.pool);
      const requestOptions = await gekko.as(
        await ctx.getInitiatorCredentials(),
      );
      if (ctx.isDryRun) {
        ctx.logger.info(
          `Would register ${name}@${version} from ${artifact} on pool ${pool}`,
        );
        ctx.output('state', 'registered');
        return;
      }
      const registered = await ctx.checkpoint({
        key: `gekko.model.register.${name}@${version}`,
        fn: async () => {
          try {
            const created = await gekko.client.registerModelVersion(
              {
                name,
                version,
                artifact,
                pools: [pool],
                ...(description ? { description } : {}),
              },
              requestOptions,
            );
            return { sha256: created.sha256, state: created.state, new: true };
          } catch (error) {
            if (!(error instanceof ResponseError)) throw error;
            if (error.statusCode !== 409) {
              throw new InputError(error.body.error.message);
            }
            // Registered before: the same file is a rerun, another file a real conflict.
            const { items } = await gekko.client.listModelVersions(
              undefined,
              requestOptions,
            );
            const existing = items.find(
              v => v.name === name && v.version === version,
            );
            if (existing?.artifact !== artifact) {
              throw new InputError(
                `${name}@${version} is already registered from ${existing?.artifact}; choose a new version`,
              );
            }
            return {
              sha256: existing.sha256,
              state: existing.state,
              new: false,
            };
          }
        },
      });
      ctx.logger.info(
        registered.new
          ? `Registered ${name}@${version} from ${artifact} on pool ${pool} (SHA-256 ${registered.sha256.slice(
              0,
              12,
            )}…)`
          : `${name}@${version} was already registered from ${artifact} (${registered.state})`,
      );
      ctx.output('sha256', registered.sha256);
      ctx.output('state', registered.state);
    },
  });
}
