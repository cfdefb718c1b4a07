import { Box, Flex, Text } from '@backstage/ui';
import LinearProgress from '@material-ui/core/LinearProgress';

/** A reading as a bar from 0 to 100% with its value in words; only the words when unknown. */
export function UsageBar(props: {
  label: string;
  /** 0–100; absent when the reading is not reported. */
  percent?: number;
  text: string;
}) {
  const { label, percent, text } = props;
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
      {percent !== undefined && (
        <LinearProgress
          variant="determinate"
          value={Math.min(100, Math.max(0, percent))}
          aria-label={label}
          aria-valuetext={text}
        />
      )}
    </Box>
  );
}
