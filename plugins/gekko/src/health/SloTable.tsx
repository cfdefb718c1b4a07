import { InfoCard } from '@backstage/core-components';
import { Flex, Text } from '@backstage/ui';
import { SLO_WINDOWS, SloStatus } from '@gekko/plugin-gekko-common';
import { PlainTable } from '../components/PlainTable';
import { BudgetLeft } from './BudgetLeft';
import { BurnRate } from './BurnRate';
import { describeBurnRatePairs } from './burnRateWindows';
import { formatIndicator, formatObjective } from './formatHealth';
import { HealthStateStatus } from './HealthStateStatus';

/**
 * Each SLO judged now: its objective, the indicator now, its state, the error budget left, the
 * burn rate over every window of the alert pairs, and why it is in its state.
 */
export function SloTable(props: { slos: SloStatus[] }) {
  return (
    <section aria-label="Service-level objectives">
      <InfoCard
        title="Service-level objectives"
        subheader="Error budgets over 30 days; a burn rate of 1× spends the budget in exactly 30 days"
      >
        <Flex direction="column" gap="2">
          <div style={{ overflowX: 'auto' }}>
            <PlainTable
              label="Service-level objectives"
              headers={[
                'Objective',
                'Now',
                'State',
                'Error budget left',
                ...SLO_WINDOWS.map(window => `Burn ${window}`),
                'Why',
              ]}
              rows={props.slos.map(status => ({
                key: status.slo.id,
                cells: [
                  <Flex direction="column" gap="0">
                    <Text as="span" variant="body-small" weight="bold">
                      {status.slo.title}
                    </Text>
                    <Text as="span" variant="body-small" color="secondary">
                      {formatObjective(status.slo)}
                    </Text>
                  </Flex>,
                  formatIndicator(status.slo, status.current),
                  <HealthStateStatus state={status.state} />,
                  <BudgetLeft
                    remaining={status.budgetRemaining}
                    slo={status.slo.title}
                  />,
                  ...SLO_WINDOWS.map(window => (
                    <BurnRate
                      window={window}
                      rate={
                        status.burnRates.find(b => b.window === window)?.rate
                      }
                    />
                  )),
                  status.reason,
                ],
              }))}
            />
          </div>
          <Text as="p" variant="body-small" color="secondary">
            Highlighted: a burn rate over the threshold of its alert pair; a
            pair alerts when both its windows are over it. Pairs:{' '}
            {describeBurnRatePairs()}.
          </Text>
        </Flex>
      </InfoCard>
    </section>
  );
}
