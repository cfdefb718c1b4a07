import type { Entity } from '@backstage/catalog-model';

/** The catalog entity the deployment tests release: the inference gateway, deployed to GPU pools. */
export const inferenceGatewayEntity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'inference-gateway',
    namespace: 'default',
    annotations: { 'gekko.io/deployment-target': 'gpu-pool' },
  },
  spec: {
    type: 'service',
    lifecycle: 'production',
    owner: 'group:default/platform',
  },
};
