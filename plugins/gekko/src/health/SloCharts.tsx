import { InfoCard } from '@backstage/core-components';
import { Grid, ToggleButton, ToggleButtonGroup } from '@backstage/ui';
import type { SloDefinition } from '@gekko/plugin-gekko-common';
import { useState } from 'react';
import { SloChart } from './SloChart';
import { SLO_CHART_RANGES, SloChartRange } from './useSloSeries';

const RANGES = Object.keys(SLO_CHART_RANGES) as SloChartRange[];

/** Each SLO's indicator over the last hour or the last day, with its objective. */
export function SloCharts(props: { entityRef: string; slos: SloDefinition[] }) {
  const { entityRef, slos } = props;
  const [range, setRange] = useState<SloChartRange>('1h');
  return (
    <section aria-label="Indicators over time">
      <InfoCard
        title="Indicators over time"
        subheader="p99 latency, updates per second or good requests, against the objective (dashed)"
        action={
          <ToggleButtonGroup
            aria-label="Range"
            selectionMode="single"
            disallowEmptySelection
            selectedKeys={[range]}
            onSelectionChange={keys => {
              const [key] = [...keys];
              if (key) setRange(key as SloChartRange);
            }}
          >
            {RANGES.map(r => (
              <ToggleButton key={r} id={r}>
                {SLO_CHART_RANGES[r].label}
              </ToggleButton>
            ))}
          </ToggleButtonGroup>
        }
      >
        <Grid.Root columns={{ initial: '1', lg: '2' }} gap="4">
          {slos.map(slo => (
            <SloChart
              key={slo.id}
              entityRef={entityRef}
              slo={slo}
              range={range}
            />
          ))}
        </Grid.Root>
      </InfoCard>
    </section>
  );
}
