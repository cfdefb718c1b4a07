import { stringifyEntityRef } from '@backstage/catalog-model';
import {
  InfoCard,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useRouteRef } from '@backstage/frontend-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { Flex, Text } from '@backstage/ui';
import type { ServiceHealth } from '@gekko/plugin-gekko-common';
import { backendMessage } from '../api/backendMessage';
import { isResponseStatus } from '../api/isResponseStatus';
import { tradingHealthRouteRef } from '../routes';
import { formatIndicator } from './formatHealth';
import { HealthStateStatus } from './HealthStateStatus';
import { useServiceHealth } from './useServiceHealth';

function firingText(health: ServiceHealth): string {
  const firing = health.alerts.filter(a => a.state === 'firing');
  const critical = firing.filter(a => a.severity === 'critical').length;
  if (firing.length === 0) return 'No alert firing';
  const count = `${firing.length} alert${
    firing.length === 1 ? '' : 's'
  } firing`;
  return critical ? `${count}, ${critical} critical` : count;
}

function HealthSummary(props: { health: ServiceHealth }) {
  const { health } = props;
  return (
    <Flex direction="column" gap="3">
      <HealthStateStatus state={health.state} large />
      <ul aria-label="Objectives" style={{ margin: 0, paddingLeft: 0 }}>
        {health.slos.map(status => (
          <li
            key={status.slo.id}
            style={{ listStyle: 'none', display: 'flex', gap: 8 }}
          >
            <HealthStateStatus state={status.state} />
            <Text as="span" variant="body-small">
              {status.slo.title} · {formatIndicator(status.slo, status.current)}
            </Text>
          </li>
        ))}
      </ul>
      <Text
        as="p"
        variant="body-small"
        weight={
          health.alerts.some(a => a.state === 'firing') ? 'bold' : 'regular'
        }
      >
        {firingText(health)}
      </Text>
    </Flex>
  );
}

/**
 * The overview card of a trading service: its overall state, each SLO's state in a line, the
 * alerts firing, and a link to the Trading health tab.
 */
export function TradingHealthCard() {
  const { entity } = useEntity();
  const tabLink = useRouteRef(tradingHealthRouteRef);
  const { value, error, loading } = useServiceHealth(
    stringifyEntityRef(entity),
  );

  let content;
  if (loading) {
    content = <Progress />;
  } else if (isResponseStatus(error, 404)) {
    content = <Text as="p">{backendMessage(error!)}</Text>;
  } else if (error) {
    // A stale state would read as live here; say it is not known instead.
    content = (
      <ResponseErrorPanel
        title="Could not read the trading health"
        error={error}
      />
    );
  } else if (value) {
    content = <HealthSummary health={value} />;
  }

  return (
    <section aria-label="Trading health summary">
      <InfoCard
        title="Trading health"
        subheader="Refreshed every 5 seconds"
        deepLink={
          tabLink && {
            link: tabLink(),
            title: 'Objectives, burn rates, charts, venues and alerts',
          }
        }
      >
        {content}
      </InfoCard>
    </section>
  );
}
