import { Entity } from '@backstage/catalog-model';
import { mockApis, renderTestApp } from '@backstage/frontend-test-utils';
import { createTestEntityPage } from '@backstage/plugin-catalog-react/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { gekkoDeploymentRollbackPermission } from '@gekko/plugin-gekko-common';
import { screen, waitFor, within } from '@testing-library/react';
import { gekkoApiRef } from '../api/GekkoApi';
import { entityDeploymentsContent } from '../entityContents';
import {
  succeededCanary,
  versionsAfterSucceeded,
} from '../testUtils/deploymentFixtures';
import { FakeGekkoApi } from '../testUtils/FakeGekkoApi';

// In a file of its own: usePermission caches each decision for the module's life, so a test that
// denies must not share the module with tests that allow the same permission on the same entity.

jest.setTimeout(30_000);

const inferenceGateway: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'inference-gateway',
    namespace: 'default',
    annotations: { 'gekko.io/deployment-target': 'gpu-pool' },
  },
  spec: { type: 'service', lifecycle: 'production', owner: 'group:platform' },
};

it('disables Roll back for someone the policy does not let roll this entity back, asking about this entity', async () => {
  const asked: Array<{ permission: string; resourceRef?: string }> = [];
  renderTestApp({
    extensions: [
      createTestEntityPage({ entity: inferenceGateway }),
      entityDeploymentsContent,
    ],
    apis: [
      [
        gekkoApiRef,
        new FakeGekkoApi({
          deployments: [succeededCanary],
          modelVersions: versionsAfterSucceeded,
        }),
      ],
      mockApis.permission({
        authorize: request => {
          asked.push({
            permission: request.permission.name,
            resourceRef: request.resourceRef,
          });
          return AuthorizeResult.DENY;
        },
      }),
    ],
  });
  const card = await screen.findByLabelText('Deployment');
  await waitFor(() =>
    expect(
      within(card).getByRole('button', { name: 'Roll back mlp@2' }),
    ).toBeDisabled(),
  );
  expect(asked).toContainEqual({
    permission: gekkoDeploymentRollbackPermission.name,
    resourceRef: 'component:default/inference-gateway',
  });
});
