import { Flex, Text } from '@backstage/ui';
import type { ModelVersion } from '@gekko/plugin-gekko-common';
import { formatPercent } from '../utilization/format';
import { modelVersionKey, trafficShares } from '../utilization/trafficShares';

/** Okabe–Ito, one colour per version, in order. */
const VERSION_COLOURS = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#CC79A7',
  '#56B4E9',
  '#D55E00',
  '#F0E442',
];

/** One model: its traffic split as a bar, and each version's state, share and workers. */
function ModelTraffic(props: { model: string; versions: ModelVersion[] }) {
  const { model, versions } = props;
  const shares = trafficShares(versions);
  const ordered = [...versions].sort((a, b) =>
    a.version.localeCompare(b.version, 'en', { numeric: true }),
  );
  const colourOf = (v: ModelVersion) =>
    VERSION_COLOURS[ordered.indexOf(v) % VERSION_COLOURS.length];
  const serving = ordered.filter(
    v => (shares.get(modelVersionKey(v))?.percent ?? 0) > 0,
  );
  return (
    <Flex direction="column" gap="1" aria-label={`Traffic of ${model}`}>
      <Text variant="body-medium" weight="bold">
        {model}
      </Text>
      <div
        role="img"
        aria-label={`Traffic split of ${model}: ${
          serving
            .map(
              v =>
                `${v.version} ${formatPercent(
                  shares.get(modelVersionKey(v))!.percent,
                )}`,
            )
            .join(', ') || 'no version takes traffic'
        }`}
        style={{
          display: 'flex',
          height: 14,
          borderRadius: 4,
          overflow: 'hidden',
          background: 'var(--bui-border-1, #ddd)',
        }}
      >
        {serving.map(v => (
          <div
            key={v.version}
            title={`${v.version}: ${formatPercent(
              shares.get(modelVersionKey(v))!.percent,
            )}`}
            style={{
              width: `${shares.get(modelVersionKey(v))!.percent}%`,
              background: colourOf(v),
              transition: 'width 300ms ease',
            }}
          />
        ))}
      </div>
      <ul style={{ listStyle: 'none', margin: 0, padding: 0 }}>
        {ordered.map(v => {
          const share = shares.get(modelVersionKey(v));
          return (
            <li key={v.version}>
              <span
                aria-hidden
                style={{
                  display: 'inline-block',
                  width: 10,
                  height: 10,
                  marginRight: 6,
                  borderRadius: 2,
                  background: colourOf(v),
                }}
              />
              <Text variant="body-small">
                version {v.version}: {v.state}
                {share
                  ? `, ${formatPercent(share.percent)} of the traffic`
                  : ''}
                {v.placements.length
                  ? `, loaded on ${v.placements.length} worker${
                      v.placements.length === 1 ? '' : 's'
                    }`
                  : ', not loaded'}{' '}
                ({v.pools.join(', ')})
              </Text>
            </li>
          );
        })}
      </ul>
    </Flex>
  );
}

/** What runs now: the traffic split of each model the entity releases, version by version. */
export function NowServing(props: { versions: ModelVersion[] }) {
  const byModel = new Map<string, ModelVersion[]>();
  for (const v of props.versions) {
    byModel.set(v.name, [...(byModel.get(v.name) ?? []), v]);
  }
  if (!byModel.size) {
    return (
      <Text as="p" color="secondary">
        No model version is registered for this entity yet.
      </Text>
    );
  }
  return (
    <Flex direction="column" gap="3">
      {[...byModel].map(([model, versions]) => (
        <ModelTraffic key={model} model={model} versions={versions} />
      ))}
    </Flex>
  );
}
