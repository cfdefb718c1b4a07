import { Entity } from '@backstage/catalog-model';

/** A Component of the gordon-gekko System, as the catalog would hold it, for the trading tests. */
export function tradingComponent(
  name: string,
  annotations: Record<string, string>,
  owner = 'group:default/trading-ops',
): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default', annotations },
    spec: {
      type: 'service',
      lifecycle: 'production',
      owner,
      system: 'gordon-gekko',
    },
  };
}
