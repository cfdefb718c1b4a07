import { InfoCard } from '@backstage/core-components';
import { Flex } from '@backstage/ui';
import type { BusinessMetrics } from '@gekko/plugin-gekko-common';
import { UsageBar } from '../utilization/UsageBar';
import { Facts } from '../components/Facts';
import {
  formatAccuracy,
  formatPnl,
  formatUsd,
  formatUsdCompact,
} from './formatHealth';

/** The figures the service reports, each only where it reports it. */
function factsOf(
  business: BusinessMetrics,
): Array<{ term: string; value: string }> {
  const facts: Array<{ term: string; value: string }> = [];
  if (business.volumeUsdPerSecond !== undefined) {
    facts.push({
      term: 'Trading volume',
      value: `${formatUsd(business.volumeUsdPerSecond)}/s`,
    });
  }
  if (business.pnlUsd !== undefined) {
    facts.push({ term: 'P&L today', value: formatPnl(business.pnlUsd) });
  }
  if (business.modelAccuracy !== undefined) {
    facts.push({
      term: 'Model accuracy',
      value: formatAccuracy(business.modelAccuracy),
    });
  }
  return facts;
}

/** The exposure against its limit as a bar, or the exposure alone when the limit is not reported. */
function RiskExposure(props: { exposure: number; limit?: number }) {
  const { exposure, limit } = props;
  if (limit === undefined || limit <= 0) {
    return <UsageBar label="Risk exposure" text={formatUsdCompact(exposure)} />;
  }
  const percent = (exposure / limit) * 100;
  return (
    <UsageBar
      label="Risk exposure"
      percent={percent}
      text={`${formatUsdCompact(exposure)} of its ${formatUsdCompact(
        limit,
      )} limit (${Math.round(percent)}%)`}
    />
  );
}

/**
 * Volume, P&L, model accuracy and risk exposure against its limit, where the service exposes them;
 * nothing when it exposes none.
 */
export function BusinessMetricsPanel(props: { business: BusinessMetrics }) {
  const { business } = props;
  const facts = factsOf(business);
  if (facts.length === 0 && business.riskExposureUsd === undefined) {
    return null;
  }
  return (
    <section aria-label="Business metrics">
      <InfoCard
        title="Business metrics"
        subheader="As the service reports them"
      >
        <Flex direction="column" gap="4">
          {facts.length > 0 && <Facts facts={facts} />}
          {business.riskExposureUsd !== undefined && (
            <RiskExposure
              exposure={business.riskExposureUsd}
              limit={business.riskExposureLimitUsd}
            />
          )}
        </Flex>
      </InfoCard>
    </section>
  );
}
