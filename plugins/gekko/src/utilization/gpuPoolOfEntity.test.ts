import type { Entity } from '@backstage/catalog-model';
import { gpuPoolOfEntity } from './gpuPoolOfEntity';

function entity(
  kind: string,
  type: string,
  annotations?: Record<string, string>,
): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind,
    metadata: { name: 'h100-primary', annotations },
    spec: { type },
  };
}

describe('gpuPoolOfEntity', () => {
  it('is the name of a gpu-pool Resource', () => {
    expect(gpuPoolOfEntity(entity('Resource', 'gpu-pool'))).toBe(
      'h100-primary',
    );
  });

  it('is the pool a Component names in gekko.io/gpu-pool', () => {
    expect(
      gpuPoolOfEntity(
        entity('Component', 'service', { 'gekko.io/gpu-pool': 'm2-dev' }),
      ),
    ).toBe('m2-dev');
  });

  it('is none for other entities, or an empty annotation', () => {
    expect(gpuPoolOfEntity(entity('Resource', 'database'))).toBeUndefined();
    expect(
      gpuPoolOfEntity(
        entity('Component', 'service', { 'gekko.io/gpu-pool': '' }),
      ),
    ).toBeUndefined();
  });
});
