import { stringifyEntityRef } from '@backstage/catalog-model';
import {
  InfoCard,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useApi, useRouteRef } from '@backstage/frontend-plugin-api';
import {
  entityRouteParams,
  entityRouteRef,
  useEntity,
} from '@backstage/plugin-catalog-react';
import { Flex, Link, Text } from '@backstage/ui';
import {
  GEKKO_ANNOTATIONS,
  HEALTH_STATES_WORST_FIRST,
  HealthState,
  ServiceHealthSummary,
  worstHealthState,
} from '@gekko/plugin-gekko-common';
import { useCallback } from 'react';
import { gekkoApiRef } from '../api/GekkoApi';
import { PlainTable } from '../components/PlainTable';
import { TRADING_HEALTH_PATH } from '../routes';
import { usePolling } from '../hooks/usePolling';
import { HealthStateStatus } from './HealthStateStatus';
import { HEALTH_REFRESH_MS } from './useServiceHealth';

/** How many services are in each state, worst first: "1 breach, 1 unknown, 2 ok". */
function countByState(services: ServiceHealthSummary[]): string {
  return HEALTH_STATES_WORST_FIRST.map(state => ({
    state,
    count: services.filter(s => s.state === state).length,
  }))
    .filter(({ count }) => count > 0)
    .map(({ state, count }) => `${count} ${state}`)
    .join(', ');
}

function WorstState(props: { services: ServiceHealthSummary[] }) {
  const { services } = props;
  const worst: HealthState = worstHealthState(services.map(s => s.state));
  return (
    <Flex align="baseline" gap="3">
      <Text as="span" variant="title-small">
        Worst:
      </Text>
      <HealthStateStatus state={worst} large />
      <Text as="span" variant="body-small" color="secondary">
        {services.length} service{services.length === 1 ? '' : 's'}:{' '}
        {countByState(services)}
      </Text>
    </Flex>
  );
}

function ServicesTable(props: { services: ServiceHealthSummary[] }) {
  const entityRoute = useRouteRef(entityRouteRef);
  const tabOf = (entityRef: string) =>
    entityRoute
      ? `${entityRoute(entityRouteParams(entityRef))}/${TRADING_HEALTH_PATH}`
      : undefined;
  return (
    <PlainTable
      label="Trading services"
      headers={['Service', 'State', 'Objectives', 'Alerts firing']}
      rows={props.services.map(service => ({
        key: service.entityRef,
        cells: [
          <Link href={tabOf(service.entityRef)} variant="body-small">
            {service.title ?? service.entityRef.replace(/^.*\//, '')}
          </Link>,
          <HealthStateStatus state={service.state} />,
          <Flex direction="column" gap="0">
            {service.slos.map(slo => (
              <Flex key={slo.id} gap="2" align="baseline">
                <HealthStateStatus state={slo.state} />
                <Text as="span" variant="body-small">
                  {slo.title}
                </Text>
              </Flex>
            ))}
          </Flex>,
          <Text
            as="span"
            variant="body-small"
            weight={service.firingAlerts > 0 ? 'bold' : 'regular'}
          >
            {service.firingAlerts}
          </Text>,
        ],
      }))}
    />
  );
}

/**
 * The trading health of a System: every service of it that the portal judges, with its state, its
 * SLOs' states and its alerts firing, each linked to its Trading health tab; the worst state on top.
 */
export function SystemTradingHealthCard() {
  const { entity } = useEntity();
  const systemRef = stringifyEntityRef(entity);
  const gekkoApi = useApi(gekkoApiRef);
  const load = useCallback(
    async () => (await gekkoApi.listServiceHealth(systemRef)).items,
    [gekkoApi, systemRef],
  );
  const {
    value: services,
    error,
    loading,
  } = usePolling(load, HEALTH_REFRESH_MS);

  let content;
  if (loading) {
    content = <Progress />;
  } else if (error) {
    // A stale roll-up would read as live here; say it is not known instead.
    content = (
      <ResponseErrorPanel
        title="Could not read the trading health of the services"
        error={error}
      />
    );
  } else if (services && services.length === 0) {
    content = (
      <Text as="p">
        No Component of this System has a <code>{GEKKO_ANNOTATIONS.slos}</code>{' '}
        annotation, so none is judged.
      </Text>
    );
  } else if (services) {
    content = (
      <Flex direction="column" gap="3">
        <WorstState services={services} />
        <ServicesTable services={services} />
      </Flex>
    );
  }

  return (
    <InfoCard
      title="Trading health"
      subheader="The System's trading services, refreshed every 5 seconds"
    >
      {content}
    </InfoCard>
  );
}
