import { CodeSnippet, EmptyState } from '@backstage/core-components';
import { Flex, Text } from '@backstage/ui';
import { GEKKO_ANNOTATIONS } from '@gekko/plugin-gekko-common';

const EXAMPLE = `metadata:
  annotations:
    ${GEKKO_ANNOTATIONS.slos}: order-latency<80ms, availability>=99.95%
    # optional: the venues it trades on
    ${GEKKO_ANNOTATIONS.venues}: coinbase, binance-us, oanda`;

/**
 * The backend judges no such service (404): what it said, and the annotation that makes a
 * Component a trading service, with an example.
 */
export function NotATradingServiceEmptyState(props: { message: string }) {
  return (
    <EmptyState
      missing="field"
      title="This service's trading health is not judged"
      description={props.message}
      action={
        <Flex direction="column" gap="2">
          <Text as="p">
            Give the Component a <code>{GEKKO_ANNOTATIONS.slos}</code>{' '}
            annotation in its <code>catalog-info.yaml</code>: the SLOs to judge
            it against, each with its own target if the default does not fit.
            The portal reads it at the catalog's next refresh.
          </Text>
          <CodeSnippet language="yaml" text={EXAMPLE} showCopyCodeButton />
        </Flex>
      }
    />
  );
}
