import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import {
  GekkoPermissionPolicy,
  readGekkoPermissionHolders,
} from './GekkoPermissionPolicy';

/**
 * The Gekko portal's permission policy, for the permission plugin.
 *
 * @public
 */
export const permissionModuleGekkoPolicy = createBackendModule({
  pluginId: 'permission',
  moduleId: 'gekko-policy',
  register(env) {
    env.registerInit({
      deps: {
        policy: policyExtensionPoint,
        config: coreServices.rootConfig,
        userInfo: coreServices.userInfo,
      },
      async init({ policy, config, userInfo }) {
        policy.setPolicy(
          new GekkoPermissionPolicy(
            readGekkoPermissionHolders(config),
            userInfo,
          ),
        );
      },
    });
  },
});
