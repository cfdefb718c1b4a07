import { stringifyEntityRef } from '@backstage/catalog-model';
import { Progress, ResponseErrorPanel } from '@backstage/core-components';
import { useEntity } from '@backstage/plugin-catalog-react';
import { Flex } from '@backstage/ui';
import { backendMessage } from '../api/backendMessage';
import { isResponseStatus } from '../api/isResponseStatus';
import { StaleDataAlert } from '../utilization/StaleDataAlert';
import { BusinessMetricsPanel } from './BusinessMetricsPanel';
import { HealthHeader } from './HealthHeader';
import { NotATradingServiceEmptyState } from './NotATradingServiceEmptyState';
import { SloCharts } from './SloCharts';
import { SloTable } from './SloTable';
import { ActiveAlerts, RecentAlerts } from './TradingAlerts';
import { useServiceHealth } from './useServiceHealth';
import { VenuePanel } from './VenuePanel';

/**
 * The Trading health tab, on Components with `gekko.io/slos`: the service's overall state, its
 * alerts, each SLO with its error budget and burn rates, charts of the indicators, its venues and
 * business metrics; read again every 5 seconds, what is shown kept while a refresh fails.
 */
export function TradingHealthContent() {
  const { entity } = useEntity();
  const entityRef = stringifyEntityRef(entity);
  const {
    value: health,
    error,
    loading,
    updatedAt,
  } = useServiceHealth(entityRef);

  if (loading) return <Progress />;
  if (!health) {
    if (isResponseStatus(error, 404)) {
      return <NotATradingServiceEmptyState message={backendMessage(error!)} />;
    }
    return (
      <ResponseErrorPanel
        title="Could not read the trading health: check that the portal's backend runs; this page asks again every 5 seconds"
        error={error!}
      />
    );
  }
  return (
    <Flex direction="column" gap="4">
      {error && (
        <StaleDataAlert
          what="the trading health"
          error={error}
          updatedAt={updatedAt}
        />
      )}
      <HealthHeader health={health} />
      <ActiveAlerts alerts={health.alerts} />
      <SloTable slos={health.slos} />
      <SloCharts entityRef={entityRef} slos={health.slos.map(s => s.slo)} />
      {health.venues.length > 0 && <VenuePanel venues={health.venues} />}
      <BusinessMetricsPanel business={health.business} />
      <RecentAlerts alerts={health.alerts} />
    </Flex>
  );
}
