import {
  ChartFigure,
  axisStyle,
  chartColours as colours,
  timeAxisProps,
  tooltipStyle,
  yAxisLabel,
} from '../components/ChartFigure';
import {
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { ChartRow } from './chartData';
import { formatClock } from './format';

const CHART_HEIGHT = 240;

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
  return (
    <ChartFigure
      title={title}
      height={CHART_HEIGHT}
      initialWidth={480}
      empty={rows.length === 0 ? props.emptyText : undefined}
    >
      <LineChart
        data={rows}
        title={title}
        margin={{ top: 8, right: 16, bottom: 8, left: 8 }}
      >
        <CartesianGrid strokeDasharray="3 3" stroke={colours.grid} />
        <XAxis
          {...timeAxisProps(props.from, props.to, props.ticks, formatClock)}
        />
        <YAxis
          domain={props.yDomain}
          width={72}
          allowDecimals={false}
          {...axisStyle}
          label={yAxisLabel(props.axisLabel)}
        />
        <Tooltip
          labelFormatter={time => formatTime(Number(time))}
          formatter={value => formatValue(Number(value))}
          contentStyle={tooltipStyle}
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
    </ChartFigure>
  );
}
