import type { AuditRecord, TradingAlert } from '@gekko/plugin-gekko-common';
import { TRADING_ALERT_RULES } from './rules/tradingAlertRules';

/** The audit actions that are info alerts, and what they say happened. */
const INFO_ACTIONS: Record<string, string> = {
  'deployment.succeeded': 'succeeded',
  'deployment.rolled_back': 'was rolled back',
  'deployment.failed': 'failed',
  'pool.create': 'created',
  'pool.update': 'changed',
  'pool.delete': 'deleted',
  'model.register': 'registered',
  'model.deploy': 'deployed',
  'model.undeploy': 'undeployed',
};

function subjectOf(record: AuditRecord & { target: string }): string {
  const details = (record.details ?? {}) as Record<string, unknown>;
  if (record.action.startsWith('deployment.')) {
    return `Deployment ${String(details.deployment)}`;
  }
  if (record.action.startsWith('pool.')) {
    return `GPU pool ${record.target.replace(/^.*\//, '')}`;
  }
  return `Model ${String(details.model)}@${String(details.version)}`;
}

/**
 * The seed's info alerts ("routine scaling events, configuration changes"): a deployment that ended,
 * a GPU pool or a model version changed, as an alert of the record's entity that fired and resolved
 * at once, for the Trading health tab. Monitoring only: nobody is notified. Undefined for any other
 * record, and for changes that were refused or failed.
 */
export function infoAlertOf(record: AuditRecord): TradingAlert | undefined {
  const verb = INFO_ACTIONS[record.action];
  if (!verb || !record.target || record.outcome !== 'success') return undefined;
  const target = record.target;
  const isDeployment = record.action.startsWith('deployment.');
  const rule = isDeployment
    ? TRADING_ALERT_RULES.deploymentFinished
    : TRADING_ALERT_RULES.configurationChanged;
  const details = (record.details ?? {}) as Record<string, unknown>;
  const reason =
    isDeployment && details.reason ? `: ${String(details.reason)}` : '';
  return {
    id: `audit-${record.seq}`,
    entityRef: target,
    rule: rule.name,
    labels: { action: record.action },
    severity: rule.severity,
    state: 'resolved',
    summary: `${subjectOf({ ...record, target })} ${verb}${reason} (by ${
      record.actor
    }, audit record ${record.seq})`,
    activeAt: record.time,
    firedAt: record.time,
    resolvedAt: record.time,
  };
}
