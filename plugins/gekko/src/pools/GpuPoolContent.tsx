import { useEntity } from '@backstage/plugin-catalog-react';
import { Grid } from '@backstage/ui';
import { GpuPoolCard } from './GpuPoolCard';
import { GpuPoolServicesCard } from './GpuPoolServicesCard';

/** The GPU pool tab of a pool Resource: the live pool from the backend and its services. */
export function GpuPoolContent() {
  const { entity } = useEntity();
  return (
    <Grid.Root columns={{ initial: '1', md: '2' }} gap="4">
      <GpuPoolCard name={entity.metadata.name} />
      <GpuPoolServicesCard />
    </Grid.Root>
  );
}
