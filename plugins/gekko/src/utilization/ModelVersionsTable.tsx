import {
  EmptyState,
  Progress,
  ResponseErrorPanel,
  StatusOK,
  StatusPending,
  Table,
  TableColumn,
} from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import { Flex } from '@backstage/ui';
import type { ModelVersion } from '@gekko/plugin-gekko-common';
import { useCallback } from 'react';
import { gekkoApiRef } from '../api/GekkoApi';
import { Timestamp } from '../components/Timestamp';
import { usePolling } from '../hooks/usePolling';
import { formatPercent, formatProvider, shortWorkerId } from './format';
import { TrafficShare, modelVersionKey, trafficShares } from './trafficShares';
import { StaleDataAlert } from './StaleDataAlert';
import { LIVE_REFRESH_MS } from './useLivePool';

/** A model version as the table shows it on one pool. */
interface ModelVersionRow {
  id: string;
  version: ModelVersion;
  /** Its part of the model's traffic; absent while only registered. */
  traffic?: TrafficShare;
  /** Placements on this pool. */
  placements: ModelVersion['placements'];
}

const columns: TableColumn<ModelVersionRow>[] = [
  { title: 'Model', field: 'version.name' },
  { title: 'Version', field: 'version.version' },
  {
    title: 'State',
    field: 'version.state',
    render: ({ version }) =>
      version.state === 'deployed' ? (
        <StatusOK>deployed</StatusOK>
      ) : (
        <StatusPending>registered</StatusPending>
      ),
  },
  {
    title: 'Traffic',
    field: 'traffic.percent',
    type: 'numeric',
    render: ({ version, traffic }) =>
      traffic === undefined ? (
        '—'
      ) : (
        <span title={`Weight ${version.weight} of ${traffic.totalWeight}`}>
          {formatPercent(traffic.percent)}
        </span>
      ),
  },
  { title: 'Max batch', field: 'version.maxBatchSize', type: 'numeric' },
  {
    title: 'Providers',
    sorting: false,
    render: ({ placements }) =>
      placements.length === 0
        ? 'not loaded'
        : [...new Set(placements.map(p => formatProvider(p.provider)))].join(
            ', ',
          ),
  },
  {
    title: 'Loaded on',
    sorting: false,
    render: ({ placements }) =>
      placements.length === 0 ? (
        '—'
      ) : (
        <Flex direction="column" gap="1">
          {placements.map(p => (
            <span key={p.workerId} title={p.workerId}>
              {shortWorkerId(p.workerId)} ({formatProvider(p.provider)})
            </span>
          ))}
        </Flex>
      ),
  },
  {
    title: 'Updated',
    field: 'version.updatedAt',
    render: ({ version }) => <Timestamp time={version.updatedAt} />,
  },
];

function rowsOfPool(versions: ModelVersion[], pool: string): ModelVersionRow[] {
  // Shares are over the whole model, whose other versions may be served by other pools.
  const shares = trafficShares(versions);
  return versions
    .filter(v => v.pools.includes(pool))
    .sort(
      (a, b) =>
        a.name.localeCompare(b.name) ||
        b.version.localeCompare(a.version, 'en', { numeric: true }),
    )
    .map(v => ({
      id: modelVersionKey(v),
      version: v,
      traffic: shares.get(modelVersionKey(v)),
      placements: v.placements.filter(p => p.pool === pool),
    }));
}

/** The model versions a pool serves: their traffic split, batch size and where they are loaded. */
export function ModelVersionsTable(props: { pool: string }) {
  const { pool } = props;
  const gekkoApi = useApi(gekkoApiRef);
  // All versions, not only this pool's: a model's traffic split spans every pool that serves it.
  const load = useCallback(() => gekkoApi.listModelVersions(), [gekkoApi]);
  const { value, error, loading, updatedAt } = usePolling(
    load,
    LIVE_REFRESH_MS,
  );

  let content;
  if (loading) {
    content = <Progress />;
  } else if (!value) {
    content = error && <ResponseErrorPanel error={error} />;
  } else {
    content = (
      <>
        {error && (
          <StaleDataAlert
            what="the model versions"
            error={error}
            updatedAt={updatedAt}
          />
        )}
        <Table<ModelVersionRow>
          title="Model versions on this pool"
          columns={columns}
          data={rowsOfPool(value.items, pool)}
          options={{ paging: false, search: false, padding: 'dense' }}
          emptyContent={
            <EmptyState
              missing="data"
              title={`No model version is registered for ${pool}`}
              description={`Register one with POST /inference/models, naming ${pool} in its pools, then deploy it to load it on this pool's workers.`}
            />
          }
        />
      </>
    );
  }

  return (
    <section aria-label="Model versions">
      <Flex direction="column" gap="2">
        {content}
      </Flex>
    </section>
  );
}
