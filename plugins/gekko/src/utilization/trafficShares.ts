import type { ModelVersion } from '@gekko/plugin-gekko-common';

/** `name@version`, how the backend keys a model version. */
export function modelVersionKey(v: Pick<ModelVersion, 'name' | 'version'>) {
  return `${v.name}@${v.version}`;
}

/** A deployed version's part of its model's traffic. */
export interface TrafficShare {
  /** Its weight over `totalWeight`, in percent. */
  percent: number;
  /** The weights of all the model's deployed versions, summed. */
  totalWeight: number;
}

/**
 * Each deployed version's share of its model's traffic, by {@link modelVersionKey}, over all the
 * model's deployed versions whichever pools serve them. Registered versions take no traffic and
 * have no share.
 */
export function trafficShares(
  versions: ModelVersion[],
): Map<string, TrafficShare> {
  const deployed = versions.filter(v => v.state === 'deployed');
  const totals = new Map<string, number>();
  for (const v of deployed) {
    totals.set(v.name, (totals.get(v.name) ?? 0) + v.weight);
  }
  return new Map(
    deployed.map(v => {
      const totalWeight = totals.get(v.name) ?? 0;
      return [
        modelVersionKey(v),
        {
          percent: totalWeight > 0 ? (v.weight / totalWeight) * 100 : 0,
          totalWeight,
        },
      ];
    }),
  );
}
