import { Badge } from '@backstage/ui';
import type { Accelerator } from '@gekko/plugin-gekko-common';

const acceleratorLabels: Record<Accelerator, string> = {
  mps: 'Apple Silicon (MPS)',
  cuda: 'NVIDIA CUDA',
  cpu: 'CPU',
};

/** A pool's accelerator kind, named the way people say it. */
export function AcceleratorBadge(props: { accelerator: Accelerator }) {
  return <Badge>{acceleratorLabels[props.accelerator]}</Badge>;
}
