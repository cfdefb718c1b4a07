import { Box, Flex, Text } from '@backstage/ui';
import { useId } from 'react';
import {
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { ChartRow } from './chartData';
import { formatClock } from './format';

const CHART_HEIGHT = 240;

/** Backstage UI's colour tokens, so the charts follow the light and dark themes. */
const colours = {
  axis: 'var(--bui-fg-secondary)',
  grid: 'var(--bui-border-1)',
  tooltipBackground: 'var(--bui-bg-neutral-1)',
} as const;

/** A worker's line on a chart. */
export interface ChartedWorker {
  id: string;
  label: string;
  colour: string;
}

/** What {@link WorkerSeriesChart} draws. */
export interface WorkerSeriesChartProps {
  title: string;
  /** The Y axis title, with its unit: `Utilization (%)`. */
  axisLabel: string;
  rows: ChartRow[];
  workers: ChartedWorker[];
  /** The time range shown, in epoch milliseconds. */
  from: number;
  to: number;
  ticks: number[];
  /** Y axis bounds; `'auto'` fits the data. */
  yDomain: [number, number | 'auto'];
  formatValue: (value: number) => string;
  formatTime: (time: number) => string;
  /** Says why there is no line, when no worker has a reading in the range. */
  emptyText: string;
}

/** One reading of a pool's workers over time, a line per worker, with a legend and tooltips. */
export function WorkerSeriesChart(props: WorkerSeriesChartProps) {
  const { title, rows, workers, formatValue, formatTime } = props;
  const titleId = useId();

  return (
    <Box>
      <figure aria-labelledby={titleId} style={{ margin: 0 }}>
        <figcaption id={titleId}>
          <Text as="span" variant="title-x-small">
            {title}
          </Text>
        </figcaption>
        {rows.length === 0 ? (
          <Flex
            align="center"
            justify="center"
            style={{ height: CHART_HEIGHT }}
          >
            <Text as="p" color="secondary">
              {props.emptyText}
            </Text>
          </Flex>
        ) : (
          <ResponsiveContainer
            width="100%"
            height={CHART_HEIGHT}
            initialDimension={{ width: 480, height: CHART_HEIGHT }}
          >
            <LineChart
              data={rows}
              title={title}
              margin={{ top: 8, right: 16, bottom: 8, left: 8 }}
            >
              <CartesianGrid strokeDasharray="3 3" stroke={colours.grid} />
              <XAxis
                dataKey="t"
                type="number"
                scale="time"
                domain={[props.from, props.to]}
                ticks={props.ticks}
                tickFormatter={formatClock}
                tick={{ fill: colours.axis, fontSize: 12 }}
                stroke={colours.axis}
              />
              <YAxis
                domain={props.yDomain}
                width={72}
                allowDecimals={false}
                tick={{ fill: colours.axis, fontSize: 12 }}
                stroke={colours.axis}
                label={{
                  value: props.axisLabel,
                  angle: -90,
                  position: 'insideLeft',
                  style: {
                    textAnchor: 'middle',
                    fill: colours.axis,
                    fontSize: 12,
                  },
                }}
              />
              <Tooltip
                labelFormatter={time => formatTime(Number(time))}
                formatter={value => formatValue(Number(value))}
                contentStyle={{
                  backgroundColor: colours.tooltipBackground,
                  borderColor: colours.grid,
                }}
              />
              <Legend wrapperStyle={{ paddingTop: 8 }} />
              {workers.map(worker => (
                <Line
                  key={worker.id}
                  name={worker.label}
                  dataKey={(row: ChartRow) => row.values[worker.id]}
                  stroke={worker.colour}
                  strokeWidth={2}
                  dot={false}
                  connectNulls={false}
                  isAnimationActive={false}
                />
              ))}
            </LineChart>
          </ResponsiveContainer>
        )}
      </figure>
    </Box>
  );
}
