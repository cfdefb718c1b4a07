import type { GpuPoolCapacity } from '@gekko/plugin-gekko-common';
import { Facts } from '../components/Facts';
import { capacityFacts } from './poolCapacity';

/** A pool's live capacity in one row of figures: ready workers, devices, memory, load. */
export function CapacityFacts(props: { capacity: GpuPoolCapacity }) {
  return (
    <Facts
      facts={capacityFacts(props.capacity).map(([term, value]) => ({
        term,
        value,
      }))}
    />
  );
}
