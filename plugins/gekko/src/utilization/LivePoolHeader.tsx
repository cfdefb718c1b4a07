import { InfoCard } from '@backstage/core-components';
import { Flex } from '@backstage/ui';
import type { Accelerator, GpuPoolCapacity } from '@gekko/plugin-gekko-common';
import { AcceleratorBadge } from '../pools/AcceleratorBadge';
import { CapacityFacts } from './CapacityFacts';

/** A pool's name, its accelerators and its live capacity, atop the GPU utilization tab. */
export function LivePoolHeader(props: {
  pool: string;
  accelerators: Accelerator[];
  capacity: GpuPoolCapacity;
  /** The service whose page this is, when it is not the pool's own. */
  usedBy?: string;
}) {
  const { pool, accelerators, capacity, usedBy } = props;
  return (
    <section aria-label="Live capacity">
      <InfoCard
        title={pool}
        subheader={`${
          usedBy ? `GPU pool that ${usedBy} runs its inference on` : 'GPU pool'
        } · live capacity of its ready workers, refreshed every 5 seconds`}
        action={
          <Flex gap="2" align="center">
            {accelerators.map(accelerator => (
              <AcceleratorBadge key={accelerator} accelerator={accelerator} />
            ))}
          </Flex>
        }
      >
        <CapacityFacts capacity={capacity} />
      </InfoCard>
    </section>
  );
}
