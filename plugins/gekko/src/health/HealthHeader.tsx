import { InfoCard } from '@backstage/core-components';
import { Alert, Flex, Text } from '@backstage/ui';
import type { HealthState, ServiceHealth } from '@gekko/plugin-gekko-common';
import { Timestamp } from '../components/Timestamp';
import { Facts } from '../components/Facts';
import { HEALTH_STATE_MEANING } from './healthStates';
import { HealthStateStatus } from './HealthStateStatus';

/** The banner colour of each state; `unknown` is neutral, never the green of `ok`. */
const BANNER: Record<HealthState, 'success' | 'warning' | 'danger' | 'info'> = {
  ok: 'success',
  warning: 'warning',
  breach: 'danger',
  unknown: 'info',
};

const SOURCES: Record<ServiceHealth['source'], string> = {
  scrape: "the service's metrics endpoint, scraped by the portal",
  prometheus: 'Prometheus',
};

/**
 * A service's overall state, when its figures were observed and where from, and each problem the
 * backend had reading them, in its own words (they say what to fix).
 */
export function HealthHeader(props: { health: ServiceHealth }) {
  const { health } = props;
  return (
    <section aria-label="Overall health">
      <InfoCard
        title="Trading health"
        subheader="Judged against the service's SLOs, refreshed every 5 seconds"
      >
        <Flex direction="column" gap="3">
          <Alert
            status={BANNER[health.state]}
            icon
            data-testid="overall-state"
            title={
              <>
                {health.state.toLocaleUpperCase('en-US')}:{' '}
                {HEALTH_STATE_MEANING[health.state]}
              </>
            }
          />
          <Facts
            facts={[
              {
                term: 'State',
                value: <HealthStateStatus state={health.state} large />,
              },
              {
                term: 'Observed',
                value: health.observedAt ? (
                  <Timestamp time={health.observedAt} />
                ) : (
                  'never'
                ),
              },
              {
                term: 'Source',
                value: (
                  <Text as="span">
                    {SOURCES[health.source] ?? health.source}
                  </Text>
                ),
              },
            ]}
          />
          {health.errors.length > 0 && (
            <section aria-label="Problems reading the figures">
              <Flex direction="column" gap="2">
                {health.errors.map(message => (
                  <Alert key={message} status="danger" icon title={message} />
                ))}
              </Flex>
            </section>
          )}
        </Flex>
      </InfoCard>
    </section>
  );
}
