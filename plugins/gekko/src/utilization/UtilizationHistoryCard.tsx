import {
  InfoCard,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import { Flex, Grid, Text } from '@backstage/ui';
import type {
  UtilizationHistory,
  UtilizationRange,
} from '@gekko/plugin-gekko-common';
import { useCallback } from 'react';
import { gekkoApiRef } from '../api/GekkoApi';
import { usePolling } from '../hooks/usePolling';
import {
  ChartedReading,
  coloursByWorker,
  timeTicks,
  toChartRows,
} from './chartData';
import {
  formatClock,
  formatClockWithSeconds,
  formatLatency,
  formatPercent,
  formatRequestRate,
  shortWorkerId,
} from './format';
import { StaleDataAlert } from './StaleDataAlert';
import { LIVE_REFRESH_MS } from './useLivePool';
import { WorkerSeriesChart } from './WorkerSeriesChart';

interface RangeView {
  title: string;
  subheader: string;
  refreshMs: number;
  tickMs: number;
  formatTime: (time: number) => string;
  /** Completes "No … recorded" and "No readings" sentences. */
  during: string;
  emptyDescription: string;
}

const rangeViews: Record<UtilizationRange, RangeView> = {
  '15m': {
    title: 'Last 15 minutes',
    subheader: 'Live: one point per second, refreshed every 5 seconds',
    refreshMs: LIVE_REFRESH_MS,
    tickMs: 3 * 60_000,
    formatTime: formatClockWithSeconds,
    during: 'in the last 15 minutes',
    emptyDescription:
      'Workers report every second while they are connected; their lines appear here as soon as one has joined the pool.',
  },
  '24h': {
    title: 'Last 24 hours',
    subheader:
      'One point per minute, from the database, refreshed every minute',
    refreshMs: 60_000,
    tickMs: 6 * 3600_000,
    formatTime: formatClock,
    during: 'in the last 24 hours',
    emptyDescription:
      'The backend stores a point per minute for every worker of the pool; this history fills in once a worker has been connected for a minute.',
  },
};

interface ChartedReadingView {
  reading: ChartedReading;
  title: string;
  axisLabel: string;
  yDomain: [number, number | 'auto'];
  formatValue: (value: number) => string;
}

const chartedReadings: ChartedReadingView[] = [
  {
    reading: 'utilizationPercent',
    title: 'Utilization',
    axisLabel: 'Utilization (%)',
    yDomain: [0, 100],
    formatValue: formatPercent,
  },
  {
    reading: 'requestsPerSecond',
    title: 'Throughput',
    axisLabel: 'Requests per second',
    yDomain: [0, 'auto'],
    formatValue: formatRequestRate,
  },
  {
    reading: 'p99Ms',
    title: 'p99 latency',
    axisLabel: 'p99 latency (ms)',
    yDomain: [0, 'auto'],
    formatValue: formatLatency,
  },
];

function UtilizationCharts(props: {
  history: UtilizationHistory;
  view: RangeView;
  liveWorkerIds?: ReadonlySet<string>;
}) {
  const { history, view, liveWorkerIds } = props;
  const from = Date.parse(history.from);
  const to = Date.parse(history.to);
  const ticks = timeTicks(from, to, view.tickMs);
  const colours = coloursByWorker(history, liveWorkerIds);
  const label = (id: string) =>
    liveWorkerIds && !liveWorkerIds.has(id)
      ? `${shortWorkerId(id)} (gone)`
      : shortWorkerId(id);

  return (
    <Grid.Root columns={{ initial: '1', lg: '3' }} gap="4">
      {chartedReadings.map(chart => {
        const rows = toChartRows(history, chart.reading);
        const charted = new Set(rows.flatMap(row => Object.keys(row.values)));
        return (
          <WorkerSeriesChart
            key={chart.reading}
            title={chart.title}
            axisLabel={chart.axisLabel}
            rows={rows}
            // By id, so that the legend keeps its order when workers come and go.
            workers={[...charted].sort().map(id => ({
              id,
              colour: colours.get(id) ?? 'currentColor',
              label: label(id),
            }))}
            from={from}
            to={to}
            ticks={ticks}
            yDomain={chart.yDomain}
            formatValue={chart.formatValue}
            formatTime={view.formatTime}
            emptyText={`No ${chart.title.toLocaleLowerCase('en-US')} recorded ${
              view.during
            }.`}
          />
        );
      })}
    </Grid.Root>
  );
}

/**
 * The utilization history of a pool's workers over one range, as charts of utilization,
 * throughput and p99 latency, refreshed while it is shown.
 */
export function UtilizationHistoryCard(props: {
  pool: string;
  range: UtilizationRange;
  /** The workers connected now; the others are marked as gone in the legend. */
  liveWorkerIds?: ReadonlySet<string>;
}) {
  const { pool, range, liveWorkerIds } = props;
  const view = rangeViews[range];
  const gekkoApi = useApi(gekkoApiRef);
  const load = useCallback(
    () => gekkoApi.getUtilization(pool, range),
    [gekkoApi, pool, range],
  );
  const {
    value: history,
    error,
    loading,
    updatedAt,
  } = usePolling(load, view.refreshMs);

  let content;
  if (loading) {
    content = <Progress />;
  } else if (!history) {
    content = error && <ResponseErrorPanel error={error} />;
  } else if (!history.series.some(s => s.points.length > 0)) {
    content = (
      <Flex direction="column" gap="1" py="6" align="center">
        <Text as="p" weight="bold">
          No readings from this pool {view.during}
        </Text>
        <Text as="p" color="secondary">
          {view.emptyDescription}
        </Text>
      </Flex>
    );
  } else {
    content = (
      <UtilizationCharts
        history={history}
        view={view}
        liveWorkerIds={liveWorkerIds}
      />
    );
  }

  return (
    <section aria-label={view.title}>
      <InfoCard title={view.title} subheader={view.subheader}>
        <Flex direction="column" gap="3">
          {history && error && (
            <StaleDataAlert
              what="the history"
              error={error}
              updatedAt={updatedAt}
            />
          )}
          {content}
        </Flex>
      </InfoCard>
    </section>
  );
}
