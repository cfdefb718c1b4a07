import {
  DEFAULT_NAMESPACE,
  RELATION_PART_OF,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { Progress, ResponseErrorPanel } from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import {
  EntityInfoCard,
  EntityRefLink,
  catalogApiRef,
} from '@backstage/plugin-catalog-react';
import {
  EntityColumnConfig,
  EntityDataTable,
} from '@backstage/plugin-catalog-react/alpha';
import { Cell, Text } from '@backstage/ui';
import { GEKKO_SYSTEM, gpuPoolEntityRef } from '@gekko/plugin-gekko-common';
import useAsync from 'react-use/esm/useAsync';
import { serviceColumns } from '../components/serviceColumns';
import { gpuPoolOfEntity } from '../utilization/gpuPoolOfEntity';

const gekkoSystemRef = stringifyEntityRef({
  kind: 'system',
  namespace: DEFAULT_NAMESPACE,
  name: GEKKO_SYSTEM,
});

const gpuPoolColumn: EntityColumnConfig = {
  id: 'gpu-pool',
  label: 'GPU pool',
  isSortable: true,
  cell: entity => {
    const pool = gpuPoolOfEntity(entity);
    return (
      <Cell>
        {pool ? (
          <EntityRefLink entityRef={gpuPoolEntityRef(pool)}>
            {pool}
          </EntityRefLink>
        ) : (
          '—'
        )}
      </Cell>
    );
  },
  sortValue: entity => gpuPoolOfEntity(entity) ?? '',
};

const columns = [...serviceColumns, gpuPoolColumn];

/**
 * The trading services at a glance: the Components of the Gordon Gekko system, with their owner,
 * lifecycle and the GPU pool they run their inference on, each linking to its page.
 *
 * @public
 */
export function TradingServicesCard() {
  const catalogApi = useApi(catalogApiRef);
  const { value, loading, error } = useAsync(async () => {
    const { items } = await catalogApi.getEntities({
      filter: {
        kind: 'component',
        [`relations.${RELATION_PART_OF}`]: gekkoSystemRef,
      },
    });
    return items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }, [catalogApi]);

  return (
    <EntityInfoCard title="Trading services">
      {loading && <Progress />}
      {error && (
        <ResponseErrorPanel
          title="Could not read the trading services from the catalog"
          error={error}
        />
      )}
      {value && (
        <EntityDataTable
          columnConfig={columns}
          data={value}
          emptyState={
            <Text as="p">
              No component of the {GEKKO_SYSTEM} system is in the catalog yet.
            </Text>
          }
        />
      )}
    </EntityInfoCard>
  );
}
