import { LinearGauge } from '@backstage/core-components';
import { Box, Flex, Text } from '@backstage/ui';

/** A reading as a bar from 0 to 100% with its value in words; only the words when unknown. */
export function UsageBar(props: {
  label: string;
  /** 0–100; absent when the reading is not reported. */
  percent?: number;
  text: string;
}) {
  const { label, percent, text } = props;
  const value = percent === undefined ? undefined : clampPercent(percent);
  return (
    <Box>
      <Flex justify="between" gap="2">
        <Text as="span" variant="body-small" color="secondary">
          {label}
        </Text>
        <Text as="span" variant="body-small">
          {text}
        </Text>
      </Flex>
      {value !== undefined && (
        // LinearGauge draws the bar only; the reading is announced from here, in words.
        <div
          role="progressbar"
          aria-label={label}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(value)}
          aria-valuetext={text}
        >
          {/* One colour: a busy pool is not an alarm, unlike LinearGauge's red-to-green default. */}
          <LinearGauge
            value={value / 100}
            getColor={({ palette }) => palette.primary.main}
          />
        </div>
      )}
    </Box>
  );
}

function clampPercent(percent: number): number {
  return Math.min(100, Math.max(0, percent));
}
