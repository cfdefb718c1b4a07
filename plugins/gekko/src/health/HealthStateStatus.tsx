import {
  StatusAborted,
  StatusError,
  StatusOK,
  StatusWarning,
} from '@backstage/core-components';
import type { HealthState } from '@gekko/plugin-gekko-common';
import { StatusWord } from './StatusWord';

const ICONS: Record<HealthState, JSX.Element> = {
  ok: <StatusOK />,
  warning: <StatusWarning />,
  breach: <StatusError />,
  // Grey, never green: not knowing is no proof of health.
  unknown: <StatusAborted />,
};

/** A state as Backstage's status icon and its word, bold unless `ok`. */
export function HealthStateStatus(props: {
  state: HealthState;
  /** Larger, for the state of a whole service. */
  large?: boolean;
}) {
  const { state, large } = props;
  return (
    <span data-health-state={state}>
      <StatusWord
        icon={ICONS[state]}
        word={state}
        bold={state !== 'ok'}
        large={large}
      />
    </span>
  );
}
