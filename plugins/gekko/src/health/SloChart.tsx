import type { SloDefinition } from '@gekko/plugin-gekko-common';
import {
  CartesianGrid,
  Line,
  LineChart,
  ReferenceLine,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { backendMessage } from '../api/backendMessage';
import {
  ChartFigure,
  axisStyle,
  chartColours,
  timeAxisProps,
  tooltipStyle,
  yAxisLabel,
} from '../components/ChartFigure';
import { timeTicks } from '../utilization/chartData';
import { formatClock } from '../utilization/format';
import { chartUnitOf } from './formatHealth';
import { SLO_CHART_RANGES, SloChartRange, useSloSeries } from './useSloSeries';

const CHART_HEIGHT = 220;
/** Okabe–Ito blue for the indicator, vermilion for the objective it must keep. */
const INDICATOR_COLOUR = '#0072B2';
const OBJECTIVE_COLOUR = '#D55E00';

/** One SLO's indicator over a range, in its unit, with its objective drawn as a line. */
export function SloChart(props: {
  entityRef: string;
  slo: SloDefinition;
  range: SloChartRange;
}) {
  const { entityRef, slo, range } = props;
  const { label, tickMs } = SLO_CHART_RANGES[range];
  const {
    value: series,
    error,
    loading,
  } = useSloSeries(entityRef, slo.id, range);
  const unit = chartUnitOf(slo);
  const rows = (series?.points ?? []).map(point => ({
    t: Date.parse(point.t),
    value: point.value === null ? null : unit.toChart(point.value),
  }));
  const title = `${slo.title}, ${label.toLocaleLowerCase('en-US')}`;

  let empty: string | undefined;
  if (loading) empty = 'Reading the series…';
  else if (!series && error) {
    empty = `Could not read the series: ${backendMessage(error)}`;
  } else if (!rows.some(row => row.value !== null)) {
    empty = `No data in the ${label.toLocaleLowerCase(
      'en-US',
    )}: the service has not been scraped with this indicator yet.`;
  }
  const from = rows.length ? rows[0].t : 0;
  const to = rows.length ? rows[rows.length - 1].t : 0;

  return (
    <ChartFigure
      title={title}
      height={CHART_HEIGHT}
      initialWidth={480}
      empty={empty}
    >
      <LineChart
        data={rows}
        title={title}
        margin={{ top: 8, right: 16, bottom: 8, left: 8 }}
      >
        <CartesianGrid strokeDasharray="3 3" stroke={chartColours.grid} />
        <XAxis
          {...timeAxisProps(from, to, timeTicks(from, to, tickMs), formatClock)}
        />
        <YAxis
          domain={slo.kind === 'availability' ? ['auto', 100] : [0, 'auto']}
          width={72}
          {...axisStyle}
          label={yAxisLabel(unit.axisLabel)}
        />
        <Tooltip
          labelFormatter={time => formatClock(Number(time))}
          formatter={value =>
            value === null || value === undefined
              ? 'no data'
              : unit.format(Number(value))
          }
          contentStyle={tooltipStyle}
        />
        <ReferenceLine
          y={unit.objective}
          stroke={OBJECTIVE_COLOUR}
          strokeDasharray="6 3"
          // Always in view, even when every point is far from it.
          ifOverflow="extendDomain"
          label={{
            value: unit.objectiveLabel,
            position: 'insideTopRight',
            fill: OBJECTIVE_COLOUR,
            fontSize: 12,
          }}
        />
        <Line
          name={unit.axisLabel}
          dataKey="value"
          stroke={INDICATOR_COLOUR}
          strokeWidth={2}
          // A dot per point: after a start or a gap, a few minutes of data are a short stub at the
          // right edge of an hour, and a lone point between gaps draws no line at all.
          dot={{ r: 2, fill: INDICATOR_COLOUR }}
          connectNulls={false}
          isAnimationActive={false}
        />
      </LineChart>
    </ChartFigure>
  );
}
