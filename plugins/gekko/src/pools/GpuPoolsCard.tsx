import { Progress, ResponseErrorPanel } from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import { EntityInfoCard, EntityRefLink } from '@backstage/plugin-catalog-react';
import {
  Cell,
  CellText,
  ColumnConfig,
  Table,
  Text,
  useTable,
} from '@backstage/ui';
import { GpuPool, gpuPoolEntityRef } from '@gekko/plugin-gekko-common';
import { useMemo } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { gekkoApiRef } from '../api/GekkoApi';
import { AcceleratorBadge } from './AcceleratorBadge';
import { formatPoolCapacity } from './formatPoolCapacity';

type GpuPoolRow = GpuPool & { id: string };

const columns: ColumnConfig<GpuPoolRow>[] = [
  {
    id: 'name',
    label: 'Name',
    isRowHeader: true,
    cell: pool => (
      <Cell>
        <EntityRefLink entityRef={gpuPoolEntityRef(pool.name)}>
          {pool.name}
        </EntityRefLink>
      </Cell>
    ),
  },
  {
    id: 'title',
    label: 'Title',
    cell: pool => (
      <CellText title={pool.title} description={pool.description} />
    ),
  },
  {
    id: 'owner',
    label: 'Owner',
    cell: pool => (
      <Cell>
        <EntityRefLink entityRef={pool.owner} defaultKind="group" />
      </Cell>
    ),
  },
  {
    id: 'accelerator',
    label: 'Accelerator',
    cell: pool => (
      <Cell>
        <AcceleratorBadge accelerator={pool.accelerator} />
      </Cell>
    ),
  },
  {
    id: 'region',
    label: 'Region',
    cell: pool => <CellText title={pool.region} />,
  },
  {
    id: 'capacity',
    label: 'Capacity',
    cell: pool => <CellText title={formatPoolCapacity(pool.capacity)} />,
  },
];

/**
 * Every GPU pool the Gekko backend knows, at a glance: title, owner, accelerator, region and
 * configured capacity, each linking to the pool's page.
 *
 * @public
 */
export function GpuPoolsCard() {
  const gekkoApi = useApi(gekkoApiRef);
  const { value, loading, error } = useAsync(
    () => gekkoApi.listPools(),
    [gekkoApi],
  );
  const rows = useMemo(
    () =>
      value
        ?.map(pool => ({ ...pool, id: pool.name }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    [value],
  );
  const { tableProps } = useTable({
    mode: 'complete',
    data: rows,
    paginationOptions: { type: 'none' },
  });

  return (
    <EntityInfoCard title="GPU pools">
      {loading && <Progress />}
      {error && (
        <ResponseErrorPanel
          title="Could not read the GPU pools"
          error={error}
        />
      )}
      {rows && (
        <Table
          columnConfig={columns}
          {...tableProps}
          emptyState={
            <Text as="p">
              No GPU pool yet. Pools come from gekko.gpuPools in the app config
              or are created through the gekko API.
            </Text>
          }
        />
      )}
    </EntityInfoCard>
  );
}
