import {
  InfoCard,
  StatusError,
  StatusPending,
  StatusWarning,
} from '@backstage/core-components';
import { Alert, Flex, Text } from '@backstage/ui';
import type { AlertSeverity, TradingAlert } from '@gekko/plugin-gekko-common';
import { PlainTable } from '../components/PlainTable';
import { Timestamp } from '../components/Timestamp';
import { StatusWord } from './StatusWord';

const SEVERITY_ICONS: Record<AlertSeverity, JSX.Element> = {
  critical: <StatusError />,
  warning: <StatusWarning />,
  info: <StatusPending />,
};
const SEVERITY_RANK: Record<AlertSeverity, number> = {
  critical: 0,
  warning: 1,
  info: 2,
};

/** An alert's severity as a status icon and its word. */
function Severity(props: { severity: AlertSeverity }) {
  const { severity } = props;
  return (
    <StatusWord
      icon={SEVERITY_ICONS[severity]}
      word={severity}
      bold={severity === 'critical'}
    />
  );
}

/** What an alert is about: `slo: order-latency · window: 6h/30m`. */
function formatLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length
    ? entries.map(([key, value]) => `${key}: ${value}`).join(' · ')
    : '—';
}

function AlertName(props: { alert: TradingAlert }) {
  const { alert } = props;
  return (
    <Flex direction="column" gap="0">
      <Text as="span" variant="body-small" weight="bold">
        {alert.rule}
      </Text>
      <Text as="span" variant="body-small">
        {alert.summary}
      </Text>
    </Flex>
  );
}

/** Firing before pending, critical first, newest first. */
function byUrgency(a: TradingAlert, b: TradingAlert): number {
  return (
    Number(b.state === 'firing') - Number(a.state === 'firing') ||
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    b.activeAt.localeCompare(a.activeAt)
  );
}

/** A critical alert that fires, as a banner: the one thing on the page not to miss. */
function CriticalAlertBanner(props: { alert: TradingAlert }) {
  const { alert } = props;
  return (
    <Alert
      status="danger"
      icon
      title={`${alert.rule}: ${alert.summary}`}
      description={
        <>
          Critical, firing since{' '}
          <Timestamp time={alert.firedAt ?? alert.activeAt} /> ·{' '}
          {formatLabels(alert.labels)}
        </>
      }
    />
  );
}

/**
 * The alerts pending or firing now: critical ones that fire as banners on top, the others in a
 * table, most urgent first.
 */
export function ActiveAlerts(props: { alerts: TradingAlert[] }) {
  const active = props.alerts
    .filter(a => a.state !== 'resolved')
    .sort(byUrgency);
  const critical = active.filter(
    a => a.state === 'firing' && a.severity === 'critical',
  );
  const others = active.filter(a => !critical.includes(a));
  return (
    <section aria-label="Active alerts">
      <InfoCard
        title="Active alerts"
        subheader="Pending: the condition holds but not yet for the rule's duration; firing: it has held long enough"
      >
        <Flex direction="column" gap="3">
          {active.length === 0 && (
            <Text as="p">No alert is pending or firing.</Text>
          )}
          {critical.map(alert => (
            <CriticalAlertBanner key={alert.id} alert={alert} />
          ))}
          {others.length > 0 && (
            <PlainTable
              label="Other active alerts"
              headers={['Severity', 'State', 'Alert', 'About', 'Since']}
              rows={others.map(alert => ({
                key: alert.id,
                cells: [
                  <Severity severity={alert.severity} />,
                  alert.state,
                  <AlertName alert={alert} />,
                  formatLabels(alert.labels),
                  <Timestamp time={alert.firedAt ?? alert.activeAt} />,
                ],
              }))}
            />
          )}
        </Flex>
      </InfoCard>
    </section>
  );
}

/** The alerts that fired and resolved, newest first. */
export function RecentAlerts(props: { alerts: TradingAlert[] }) {
  const resolved = props.alerts
    .filter(a => a.state === 'resolved')
    .sort((a, b) => (b.resolvedAt ?? '').localeCompare(a.resolvedAt ?? ''));
  return (
    <section aria-label="Recent alerts">
      <InfoCard title="Recent alerts" subheader="Fired, then resolved">
        {resolved.length === 0 ? (
          <Text as="p">No alert resolved recently.</Text>
        ) : (
          <PlainTable
            label="Resolved alerts"
            headers={['Severity', 'Alert', 'About', 'Fired', 'Resolved']}
            rows={resolved.map(alert => ({
              key: alert.id,
              cells: [
                <Severity severity={alert.severity} />,
                <AlertName alert={alert} />,
                formatLabels(alert.labels),
                <Timestamp time={alert.firedAt ?? alert.activeAt} />,
                alert.resolvedAt ? <Timestamp time={alert.resolvedAt} /> : '—',
              ],
            }))}
          />
        )}
      </InfoCard>
    </section>
  );
}
