import {
  InfoCard,
  Progress,
  ResponseErrorPanel,
  StructuredMetadataTable,
} from '@backstage/core-components';
import { useApi, useRouteRef } from '@backstage/frontend-plugin-api';
import { Text } from '@backstage/ui';
import { useCallback } from 'react';
import { gekkoApiRef } from '../api/GekkoApi';
import { usePolling } from '../hooks/usePolling';
import { gpuUtilizationRouteRef } from '../routes';
import { capacityFacts, capacityOfPool } from '../utilization/poolCapacity';
import { LIVE_REFRESH_MS } from '../utilization/useLivePool';

/** What a pool has right now, from its connected workers, next to what it is configured with. */
export function GpuPoolLiveCapacityCard(props: { name: string }) {
  const { name } = props;
  const gekkoApi = useApi(gekkoApiRef);
  const utilizationLink = useRouteRef(gpuUtilizationRouteRef);
  const load = useCallback(
    async () => capacityOfPool((await gekkoApi.getGpuCapacity()).items, name),
    [gekkoApi, name],
  );
  const { value: capacity, error, loading } = usePolling(load, LIVE_REFRESH_MS);

  let content;
  if (loading) {
    content = <Progress />;
  } else if (error) {
    // A stale figure would read as live here; say it is unknown instead.
    content = <ResponseErrorPanel error={error} />;
  } else if (capacity) {
    content = (
      <>
        <StructuredMetadataTable
          options={{ titleFormat: key => key }}
          metadata={Object.fromEntries(capacityFacts(capacity))}
        />
        {capacity.workers === 0 && (
          <Text as="p" color="secondary">
            No worker has joined this pool. Workers join when they start; the
            GPU utilization tab says how to start one.
          </Text>
        )}
      </>
    );
  }

  return (
    <InfoCard
      title="Live capacity"
      subheader="From the workers connected now, refreshed every 5 seconds"
      deepLink={
        utilizationLink && {
          link: utilizationLink(),
          title: 'GPU utilization, per worker and over time',
        }
      }
    >
      {content}
    </InfoCard>
  );
}
