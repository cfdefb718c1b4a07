import { Box, Flex, Text } from '@backstage/ui';
import { ReactElement, useId } from 'react';
import { ResponsiveContainer } from 'recharts';

/** Backstage UI's colour tokens, so the charts follow the light and dark themes. */
export const chartColours = {
  axis: 'var(--bui-fg-secondary)',
  grid: 'var(--bui-border-1)',
  tooltipBackground: 'var(--bui-bg-neutral-1)',
} as const;

/** The style of an axis's ticks and line. */
export const axisStyle = {
  tick: { fill: chartColours.axis, fontSize: 12 },
  stroke: chartColours.axis,
} as const;

/** A vertical axis's label (its unit), rotated along the axis. */
export function yAxisLabel(value: string) {
  return {
    value,
    angle: -90,
    position: 'insideLeft',
    style: { textAnchor: 'middle', fill: chartColours.axis, fontSize: 12 },
  } as const;
}

/** The props of a time axis over `[from, to]` (epoch ms) with the given ticks, shown as clock times. */
export function timeAxisProps(
  from: number,
  to: number,
  ticks: number[],
  formatTick: (time: number) => string,
) {
  return {
    dataKey: 't',
    type: 'number',
    scale: 'time',
    domain: [from, to],
    ticks,
    tickFormatter: formatTick,
    ...axisStyle,
  } as const;
}

/** The style of a tooltip box. */
export const tooltipStyle = {
  backgroundColor: chartColours.tooltipBackground,
  borderColor: chartColours.grid,
} as const;

/**
 * A chart as a captioned figure (its caption is its accessible name), sized to its container; with
 * `empty`, that text in the chart's place instead.
 */
export function ChartFigure(props: {
  title: string;
  height: number;
  /** The width the chart is drawn at before its container is measured (tests, first paint). */
  initialWidth: number;
  empty?: string;
  children: ReactElement;
}) {
  const { title, height, initialWidth, empty, children } = props;
  const titleId = useId();
  return (
    <Box>
      <figure aria-labelledby={titleId} style={{ margin: 0 }}>
        <figcaption id={titleId}>
          <Text as="span" variant="title-x-small">
            {title}
          </Text>
        </figcaption>
        {empty !== undefined ? (
          <Flex align="center" justify="center" style={{ height }}>
            <Text as="p" color="secondary">
              {empty}
            </Text>
          </Flex>
        ) : (
          <ResponsiveContainer
            width="100%"
            height={height}
            initialDimension={{ width: initialWidth, height }}
          >
            {children}
          </ResponsiveContainer>
        )}
      </figure>
    </Box>
  );
}
