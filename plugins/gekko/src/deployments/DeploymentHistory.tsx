import { Table, TableColumn } from '@backstage/core-components';
import { Button } from '@backstage/ui';
import type { Deployment } from '@gekko/plugin-gekko-common';
import { DeploymentStateStatus } from './DeploymentDetails';
import {
  durationOf,
  formatDuration,
  progressOf,
  releaseOf,
} from './deploymentModel';
import { RollbackButton } from './RollbackButton';

/**
 * Every deployment of the entity, newest first: what, how, who, how it ended and how long it took;
 * each can be opened in full, and a succeeded one rolled back.
 */
export function DeploymentHistory(props: {
  deployments: Deployment[];
  selectedId?: string;
  onSelect: (id: string) => void;
  onRolledBack: (deployment: Deployment) => void;
}) {
  const { deployments, selectedId, onSelect, onRolledBack } = props;
  const columns: TableColumn<Deployment>[] = [
    {
      title: 'Started',
      field: 'createdAt',
      render: d => (
        <time dateTime={d.createdAt} title={d.createdAt}>
          {new Date(d.createdAt).toLocaleString()}
        </time>
      ),
    },
    { title: 'Release', render: d => releaseOf(d), sorting: false },
    { title: 'Strategy', field: 'strategy' },
    {
      title: 'State',
      field: 'state',
      // The reason is on the deployment's own card; here it is a hover away.
      render: d => (
        <span title={d.reason}>
          <DeploymentStateStatus state={d.state} />
        </span>
      ),
    },
    {
      title: 'Steps',
      sorting: false,
      render: d => {
        const { applied, total } = progressOf(d);
        return `${applied} / ${total}`;
      },
    },
    {
      title: 'By',
      field: 'createdBy',
      // `user:default/ava` reads as `ava`; the whole ref on hover.
      render: d => (
        <span title={d.createdBy}>{d.createdBy.replace(/^.*[:/]/, '')}</span>
      ),
    },
    {
      title: 'Took',
      sorting: false,
      render: d => formatDuration(durationOf(d)),
    },
    {
      title: '',
      sorting: false,
      render: d => (
        <span style={{ display: 'inline-flex', gap: 8, whiteSpace: 'nowrap' }}>
          <Button
            size="small"
            variant="tertiary"
            aria-label={`Show deployment ${d.id}`}
            aria-pressed={d.id === selectedId}
            onPress={() => onSelect(d.id)}
          >
            {d.id === selectedId ? 'Shown above' : 'Show'}
          </Button>
          {d.state === 'succeeded' && (
            <RollbackButton deployment={d} onRolledBack={onRolledBack} />
          )}
        </span>
      ),
    },
  ];
  return (
    <Table<Deployment>
      title="History"
      columns={columns}
      data={deployments}
      options={{
        paging: deployments.length > 10,
        pageSize: 10,
        search: false,
        padding: 'dense',
      }}
    />
  );
}
