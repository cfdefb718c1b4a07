import {
  InfoCard,
  Progress,
  ResponseErrorPanel,
  StructuredMetadataTable,
} from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import { EntityRefLink } from '@backstage/plugin-catalog-react';
import { Alert } from '@backstage/ui';
import type { GpuPool } from '@gekko/plugin-gekko-common';
import useAsync from 'react-use/esm/useAsync';
import { gekkoApiRef } from '../api/GekkoApi';
import { isResponseStatus } from '../api/isResponseStatus';
import { Timestamp } from '../components/Timestamp';
import { AcceleratorBadge } from './AcceleratorBadge';
import { formatPoolCapacity } from './formatPoolCapacity';
import { NodeSelectorTags } from './NodeSelectorTags';

const sourceLabels: Record<GpuPool['source'], string> = {
  config: 'Configuration (gekko.gpuPools)',
  api: 'Created through the API',
};

/** A GPU pool as the Gekko backend knows it now: accelerator, region, capacity, owner, nodes. */
export function GpuPoolCard(props: { name: string }) {
  const { name } = props;
  const gekkoApi = useApi(gekkoApiRef);
  const {
    value: pool,
    loading,
    error,
  } = useAsync(() => gekkoApi.getPool(name), [gekkoApi, name]);

  if (loading) {
    return <Progress />;
  }
  if (isResponseStatus(error, 404)) {
    return (
      <Alert
        status="warning"
        icon
        title="This pool is in the catalog but unknown to the gekko backend"
        description={`The gekko backend has no GPU pool named "${name}". Create it through the gekko API or under gekko.gpuPools in the app config, or remove the catalog entity.`}
      />
    );
  }
  if (error) {
    return <ResponseErrorPanel error={error} />;
  }
  if (!pool) {
    return null;
  }

  return (
    <InfoCard title={pool.title} subheader={`GPU pool ${pool.name}`}>
      <StructuredMetadataTable
        options={{ titleFormat: key => key }}
        metadata={{
          Accelerator: <AcceleratorBadge accelerator={pool.accelerator} />,
          Region: pool.region,
          Capacity: formatPoolCapacity(pool.capacity),
          Owner: <EntityRefLink entityRef={pool.owner} defaultKind="group" />,
          'Node selector': <NodeSelectorTags selector={pool.nodeSelector} />,
          Description: pool.description || '—',
          Source: sourceLabels[pool.source],
          Created: <Timestamp time={pool.createdAt} />,
          Updated: <Timestamp time={pool.updatedAt} />,
        }}
      />
    </InfoCard>
  );
}
