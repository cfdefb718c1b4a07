import { LinearGauge } from '@backstage/core-components';
import { Box, Text } from '@backstage/ui';
import { formatBudgetRemaining, NOT_REPORTED } from './formatHealth';

/** Under a quarter of the budget left, the backend warns. */
const LOW = 0.25;

/**
 * The share of an SLO's error budget left, as a small bar and a percentage; below zero it is
 * overspent, and says so.
 */
export function BudgetLeft(props: { remaining?: number; slo: string }) {
  const { remaining, slo } = props;
  if (remaining === undefined) {
    return (
      <Text as="span" variant="body-small" color="secondary">
        {NOT_REPORTED}
      </Text>
    );
  }
  const text =
    remaining < 0
      ? `${formatBudgetRemaining(remaining)} (overspent)`
      : formatBudgetRemaining(remaining);
  const percent = Math.min(100, Math.max(0, remaining * 100));
  return (
    <Box style={{ minWidth: 96 }}>
      <Text
        as="span"
        variant="body-small"
        weight={remaining < LOW ? 'bold' : 'regular'}
        color={remaining < 0 ? 'danger' : undefined}
      >
        {text}
      </Text>
      {/* LinearGauge draws the bar only; the reading is announced from here, in words. */}
      <div
        role="meter"
        aria-label={`Error budget left of ${slo}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(percent)}
        aria-valuetext={text}
      >
        <LinearGauge
          value={percent / 100}
          getColor={({ palette }) => {
            if (remaining < 0) return palette.error.main;
            return remaining < LOW
              ? palette.warning.main
              : palette.success.main;
          }}
        />
      </div>
    </Box>
  );
}
