import {
  StatusError,
  StatusOK,
  StatusWarning,
} from '@backstage/core-components';
import type { AuditOutcome } from '@gekko/plugin-gekko-common';

const statusByOutcome = {
  success: StatusOK,
  failure: StatusError,
  denied: StatusWarning,
} satisfies Record<AuditOutcome, unknown>;

/** An audited action's outcome as a colored status: success green, failure red, denied amber. */
export function AuditOutcomeStatus(props: { outcome: AuditOutcome }) {
  const Status = statusByOutcome[props.outcome];
  return <Status>{props.outcome}</Status>;
}
