import { useEntity } from '@backstage/plugin-catalog-react';
import { Grid } from '@backstage/ui';
import { GpuPoolCard } from './GpuPoolCard';
import { GpuPoolLiveCapacityCard } from './GpuPoolLiveCapacityCard';
import { GpuPoolServicesCard } from './GpuPoolServicesCard';

/**
 * The GPU pool tab of a pool Resource: the pool as configured beside its live capacity, and its
 * services.
 */
export function GpuPoolContent() {
  const { entity } = useEntity();
  return (
    <Grid.Root columns={{ initial: '1', md: '2' }} gap="4">
      <GpuPoolCard name={entity.metadata.name} />
      <GpuPoolLiveCapacityCard name={entity.metadata.name} />
      <Grid.Item colSpan={{ initial: '1', md: '2' }}>
        <GpuPoolServicesCard />
      </Grid.Item>
    </Grid.Root>
  );
}
