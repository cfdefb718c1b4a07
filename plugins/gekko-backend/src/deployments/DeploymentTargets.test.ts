import { createBackendModule } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import {
  DeploymentTarget,
  gekkoDeploymentTargetsExtensionPoint,
} from '@gekko/plugin-gekko-node';
import request from 'supertest';
import { gekkoPlugin } from '../plugin';

jest.setTimeout(60_000);

/** A target that does nothing: this test is about registration, not rollouts. */
function target(name: string): DeploymentTarget {
  const unused = async (): Promise<never> => {
    throw new Error('not used');
  };
  return {
    name,
    title: `Target ${name}`,
    strategies: ['canary', 'blue-green'],
    plan: unused,
    validate: unused,
    snapshot: unused,
    applyStep: unused,
    analyse: unused,
    restore: unused,
  };
}

function moduleAdding(moduleId: string, ...targets: DeploymentTarget[]) {
  return createBackendModule({
    pluginId: 'gekko',
    moduleId,
    register(env) {
      env.registerInit({
        deps: { deploymentTargets: gekkoDeploymentTargetsExtensionPoint },
        async init({ deploymentTargets }) {
          deploymentTargets.addDeploymentTarget(...targets);
        },
      });
    },
  });
}

const config = mockServices.rootConfig.factory({
  data: { gekko: { inference: { embedded: { workers: 0 } } } },
});

describe('the deployment-targets extension point', () => {
  it('lists the targets backend modules register, beside the built-in model target', async () => {
    const { server } = await startTestBackend({
      features: [
        gekkoPlugin,
        config,
        moduleAdding('kubernetes-target', target('kubernetes')),
        moduleAdding('sagemaker-target', target('sagemaker')),
      ],
    });

    const res = await request(server).get('/api/gekko/deployments/targets');

    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      {
        name: 'gpu-pool',
        title: 'Model versions on GPU pools',
        strategies: ['canary', 'blue-green', 'rolling'],
      },
      {
        name: 'kubernetes',
        title: 'Target kubernetes',
        strategies: ['canary', 'blue-green'],
      },
      {
        name: 'sagemaker',
        title: 'Target sagemaker',
        strategies: ['canary', 'blue-green'],
      },
    ]);
  });

  it('lists only the built-in model target when no module registers one', async () => {
    const { server } = await startTestBackend({
      features: [gekkoPlugin, config],
    });

    const res = await request(server).get('/api/gekko/deployments/targets');

    expect(res.body.items.map((t: { name: string }) => t.name)).toEqual([
      'gpu-pool',
    ]);
  });

  it.each([
    [
      'a name registered twice',
      [target('kubernetes'), target('kubernetes')],
      'Deployment target kubernetes is registered twice',
    ],
    [
      'the name of the built-in model target',
      [target('gpu-pool')],
      'Deployment target gpu-pool is registered twice',
    ],
    [
      'a name that is not a DNS label',
      [target('Kubernetes Prod')],
      'Deployment target name "Kubernetes Prod" must be a lower-case DNS label',
    ],
  ])('refuses to start with %s', async (_case, targets, message) => {
    await expect(
      startTestBackend({
        features: [gekkoPlugin, config, moduleAdding('bad', ...targets)],
      }),
    ).rejects.toThrow(message);
  });
});
