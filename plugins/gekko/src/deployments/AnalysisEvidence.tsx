import {
  StatusError,
  StatusOK,
  StatusPending,
  StatusWarning,
} from '@backstage/core-components';
import { Flex, Grid, Text } from '@backstage/ui';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  ReferenceLine,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import {
  ChartFigure,
  axisStyle,
  chartColours,
  tooltipStyle,
} from '../components/ChartFigure';
import { PlainTable } from '../components/PlainTable';
import {
  formatMeasurement,
  SideEvidence,
  StepAnalysisView,
} from './deploymentModel';

const CHART_HEIGHT = 220;

/** Okabe–Ito orange and blue: the new release against the ones it replaces. */
const NEW_COLOUR = '#E69F00';
const OLD_COLOUR = '#0072B2';
/** Okabe–Ito vermilion: the limit the p99 must stay under. */
const LIMIT_COLOUR = '#D55E00';

/** A verdict as a status: pass, fail, or still waiting for evidence. */
export function VerdictStatus(props: {
  verdict: StepAnalysisView['verdict'];
  classification?: StepAnalysisView['classification'];
}) {
  if (props.verdict === 'pass' && props.classification === 'marginal') {
    return <StatusWarning>marginal</StatusWarning>;
  }
  if (props.verdict === 'pass') return <StatusOK>pass</StatusOK>;
  if (props.verdict === 'fail') return <StatusError>fail</StatusError>;
  return <StatusPending>inconclusive</StatusPending>;
}

interface EvidenceRow {
  step: string;
  newRelease: number | null;
  replaced: number | null;
}

function rowsOf(
  analyses: StepAnalysisView[],
  pick: (side: SideEvidence) => number | null,
): EvidenceRow[] {
  return analyses.map(a => ({
    step: `Step ${a.step + 1} · ${a.weight} %`,
    newRelease: a.canary ? pick(a.canary) : null,
    replaced: a.baseline ? pick(a.baseline) : null,
  }));
}

/** One latency figure, step by step, of the new release beside the versions it replaces. */
function LatencyChart(props: {
  title: string;
  rows: EvidenceRow[];
  limitMs?: number;
}) {
  const { title, rows, limitMs } = props;
  return (
    <ChartFigure title={title} height={CHART_HEIGHT} initialWidth={420}>
      <BarChart
        data={rows}
        title={title}
        margin={{ top: 8, right: 16, bottom: 8, left: 8 }}
      >
        <CartesianGrid strokeDasharray="3 3" stroke={chartColours.grid} />
        <XAxis dataKey="step" {...axisStyle} />
        <YAxis
          width={64}
          {...axisStyle}
          label={{
            value: 'ms',
            angle: -90,
            position: 'insideLeft',
            style: { fill: chartColours.axis, fontSize: 12 },
          }}
        />
        <Tooltip
          formatter={value =>
            value === null || value === undefined
              ? 'no traffic'
              : `${Number(value).toFixed(2)} ms`
          }
          contentStyle={tooltipStyle}
        />
        <Legend wrapperStyle={{ paddingTop: 8 }} />
        {limitMs !== undefined && (
          <ReferenceLine
            y={limitMs}
            stroke={LIMIT_COLOUR}
            strokeDasharray="6 3"
            label={{
              value: `limit ${limitMs} ms`,
              position: 'insideTopRight',
              fill: LIMIT_COLOUR,
              fontSize: 12,
            }}
          />
        )}
        <Bar
          name="New release"
          dataKey="newRelease"
          fill={NEW_COLOUR}
          isAnimationActive={false}
        />
        <Bar
          name="Versions it replaces"
          dataKey="replaced"
          fill={OLD_COLOUR}
          isAnimationActive={false}
        />
      </BarChart>
    </ChartFigure>
  );
}

/** The measurements of one analysis, each against its limit, with the verdict and its score. */
export function MeasurementsTable(props: { analysis: StepAnalysisView }) {
  const { analysis } = props;
  return (
    <PlainTable
      label={`Measurements of step ${analysis.step + 1}`}
      headers={['Measurement', 'Value', 'Limit', 'Result']}
      rows={analysis.measurements.map(m => ({
        key: m.name,
        cells: [
          m.name,
          formatMeasurement(m, m.value),
          m.threshold === undefined ? '—' : formatMeasurement(m, m.threshold),
          m.passed ? (
            <StatusOK>passed</StatusOK>
          ) : (
            <StatusError>failed</StatusError>
          ),
        ],
      }))}
    />
  );
}

/**
 * The evidence of a deployment's analyses: median and p99 latency of the new release beside the
 * versions it replaces, step by step (with the p99 limit), and the measurements of the last verdict.
 */
export function AnalysisEvidence(props: {
  analyses: StepAnalysisView[];
  maxP99Ms?: number;
}) {
  const { analyses, maxP99Ms } = props;
  if (!analyses.length) {
    return (
      <Text as="p" color="secondary">
        No analysis yet: the first comes after the first step and its pause.
      </Text>
    );
  }
  const last = analyses[analyses.length - 1];
  const samples = [
    last.canary && `${last.canary.attempts} requests on the new release`,
    last.baseline &&
      last.baseline.attempts > 0 &&
      `${last.baseline.attempts} on the versions it replaces`,
  ].filter(Boolean);
  return (
    <Flex direction="column" gap="3">
      <Grid.Root columns={{ initial: '1', md: '2' }} gap="4">
        <LatencyChart
          title="Median latency per step"
          rows={rowsOf(analyses, s => s.p50Ms)}
        />
        <LatencyChart
          title="p99 latency per step"
          rows={rowsOf(analyses, s => s.p99Ms)}
          limitMs={maxP99Ms}
        />
      </Grid.Root>
      <Flex direction="column" gap="1">
        <Flex align="center" gap="2">
          <Text variant="body-medium" weight="bold">
            Step {last.step + 1} ({last.weight} %):
          </Text>
          <VerdictStatus
            verdict={last.verdict}
            classification={last.classification}
          />
          {last.score !== undefined && (
            <Text variant="body-small" color="secondary">
              score {last.score} / 100
              {samples.length ? ` · ${samples.join(', ')}` : ''}
            </Text>
          )}
        </Flex>
        {last.reason && (
          <Text as="p" variant="body-small">
            {last.reason}
          </Text>
        )}
        <MeasurementsTable analysis={last} />
      </Flex>
    </Flex>
  );
}
