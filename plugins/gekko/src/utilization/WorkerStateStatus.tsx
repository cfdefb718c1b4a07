import { StatusOK, StatusWarning } from '@backstage/core-components';
import type { GpuWorkerStatus } from '@gekko/plugin-gekko-common';

/** A worker's heartbeat state: ready in green, suspect (missed a heartbeat) in amber. */
export function WorkerStateStatus(props: { state: GpuWorkerStatus['state'] }) {
  return props.state === 'ready' ? (
    <StatusOK>ready</StatusOK>
  ) : (
    <StatusWarning>suspect</StatusWarning>
  );
}
