import { Text } from '@backstage/ui';
import type { GpuPoolCapacity } from '@gekko/plugin-gekko-common';
import { capacityFacts } from './poolCapacity';

// A definition list rather than BUI's Flex, for the term/value pairs; spaced with BUI's tokens.
const factsStyle = {
  display: 'flex',
  flexWrap: 'wrap',
  gap: 'var(--bui-space-4) var(--bui-space-10)',
  margin: 0,
} as const;

/** A pool's live capacity in one row of figures: ready workers, devices, memory, load. */
export function CapacityFacts(props: { capacity: GpuPoolCapacity }) {
  return (
    <dl style={factsStyle}>
      {capacityFacts(props.capacity).map(([label, value]) => (
        <div key={label}>
          <dt>
            <Text as="span" variant="body-small" color="secondary">
              {label}
            </Text>
          </dt>
          <dd style={{ margin: 0 }}>
            <Text as="span" variant="title-small">
              {value}
            </Text>
          </dd>
        </div>
      ))}
    </dl>
  );
}
