import { Text } from '@backstage/ui';
import { pairOverThreshold } from './burnRateWindows';
import { formatBurnRate } from './formatHealth';

// Read by screen readers, not shown: the colour says it to the eye.
const visuallyHidden = {
  position: 'absolute',
  width: 1,
  height: 1,
  overflow: 'hidden',
  clip: 'rect(0 0 0 0)',
  whiteSpace: 'nowrap',
} as const;

/**
 * One window's burn rate: `—` without data; bold in red (page) or amber (ticket) when it is over
 * the threshold of an alert pair it belongs to.
 */
export function BurnRate(props: { window: string; rate?: number }) {
  const { window, rate } = props;
  if (rate === undefined) {
    return (
      <Text as="span" variant="body-small" color="secondary" title="no data">
        —
      </Text>
    );
  }
  const pair = pairOverThreshold(window, rate);
  if (!pair) {
    return (
      <Text as="span" variant="body-small">
        {formatBurnRate(rate)}
      </Text>
    );
  }
  const why = `over ${pair.burnRate}×, the ${pair.severity} threshold of ${pair.long}/${pair.short}`;
  return (
    <Text
      as="span"
      variant="body-small"
      weight="bold"
      color={pair.severity === 'page' ? 'danger' : 'warning'}
      title={why}
      data-over={pair.severity}
    >
      {formatBurnRate(rate)}
      <span style={visuallyHidden}> ({why})</span>
    </Text>
  );
}
