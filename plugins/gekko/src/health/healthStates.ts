import type { HealthState } from '@gekko/plugin-gekko-common';

/** Worse states rank higher; `unknown` outranks `ok`, since it is no proof of health (as the backend ranks them). */
const RANK: Record<HealthState, number> = {
  ok: 0,
  unknown: 1,
  warning: 2,
  breach: 3,
};

/** The states, worst first. */
export const HEALTH_STATES_WORST_FIRST: HealthState[] = (
  Object.keys(RANK) as HealthState[]
).sort((a, b) => RANK[b] - RANK[a]);

/** The worst of several states; `ok` when there are none. */
export function worstHealthState(states: HealthState[]): HealthState {
  return states.reduce<HealthState>(
    (worst, state) => (RANK[state] > RANK[worst] ? state : worst),
    'ok',
  );
}

/** What a service's overall state means, in a sentence. */
export const HEALTH_STATE_MEANING: Record<HealthState, string> = {
  ok: 'every objective is met and no critical alert fires',
  warning: 'an objective is at risk: its error budget runs low or burns fast',
  breach: 'an objective is missed, a venue is down, or a critical alert fires',
  unknown:
    'the figures could not be read, so whether the service is healthy is not known',
};
