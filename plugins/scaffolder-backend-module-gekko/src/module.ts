import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createDeploymentCreateAction } from './actions/deploymentCreate';
import { createDeploymentRollbackAction } from './actions/deploymentRollback';
import { createDeploymentValidateAction } from './actions/deploymentValidate';
import { createModelRegisterAction } from './actions/modelRegister';

/**
 * The Gekko portal's scaffolder actions: `gekko:model:register`, `gekko:deployment:validate`,
 * `gekko:deployment:create` and `gekko:deployment:rollback`.
 *
 * @public
 */
export const scaffolderModuleGekko = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'gekko',
  register(env) {
    env.registerInit({
      deps: {
        scaffolder: scaffolderActionsExtensionPoint,
        discovery: coreServices.discovery,
        auth: coreServices.auth,
      },
      async init({ scaffolder, discovery, auth }) {
        scaffolder.addActions(
          createModelRegisterAction({ discovery, auth }),
          createDeploymentValidateAction({ discovery, auth }),
          createDeploymentCreateAction({ discovery, auth }),
          createDeploymentRollbackAction({ discovery, auth }),
        );
      },
    });
  },
});
