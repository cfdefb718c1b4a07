import type { HealthState } from '@gekko/plugin-gekko-common';

/** What a service's overall state means, in a sentence. */
export const HEALTH_STATE_MEANING: Record<HealthState, string> = {
  ok: 'every objective is met and no critical alert fires',
  warning: 'an objective is at risk: its error budget runs low or burns fast',
  breach: 'an objective is missed, a venue is down, or a critical alert fires',
  unknown:
    'the figures could not be read, so whether the service is healthy is not known',
};
