import type { Entity } from '@backstage/catalog-model';
import {
  MissingAnnotationEmptyState,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useEntity } from '@backstage/plugin-catalog-react';
import { Flex, Grid } from '@backstage/ui';
import {
  ACCELERATORS,
  Accelerator,
  GEKKO_ANNOTATIONS,
} from '@gekko/plugin-gekko-common';
import { useMemo } from 'react';
import { gpuPoolOfEntity } from './gpuPoolOfEntity';
import { LivePoolHeader } from './LivePoolHeader';
import { ModelVersionsTable } from './ModelVersionsTable';
import { NoWorkersEmptyState } from './NoWorkersEmptyState';
import { StaleDataAlert } from './StaleDataAlert';
import { useLivePool } from './useLivePool';
import { UtilizationHistoryCard } from './UtilizationHistoryCard';
import { WorkerCard } from './WorkerCard';

/**
 * The accelerators of a pool: those of its workers, or while it has none, the one its catalog
 * entity declares.
 */
function acceleratorsOf(
  workers: Array<{ acceleratorKind: Accelerator }>,
  entity: Entity,
): Accelerator[] {
  const kinds = new Set(workers.map(w => w.acceleratorKind));
  if (kinds.size === 0) {
    const declared =
      entity.metadata.annotations?.[GEKKO_ANNOTATIONS.accelerator];
    return ACCELERATORS.filter(a => a === declared);
  }
  return ACCELERATORS.filter(a => kinds.has(a));
}

function LivePool(props: { pool: string; entity: Entity }) {
  const { pool, entity } = props;
  const { value, error, loading, updatedAt } = useLivePool(pool);
  const liveWorkerIds = useMemo(
    () => value && new Set(value.workers.map(w => w.id)),
    [value],
  );

  return (
    <Flex direction="column" gap="4">
      {loading && <Progress />}
      {error && !value && (
        <ResponseErrorPanel
          title="Could not read the pool's workers"
          error={error}
        />
      )}
      {value && (
        <>
          {error && (
            <StaleDataAlert
              what="the workers"
              error={error}
              updatedAt={updatedAt}
            />
          )}
          <LivePoolHeader
            pool={pool}
            accelerators={acceleratorsOf(value.workers, entity)}
            capacity={value.capacity}
            usedBy={
              entity.kind.toLocaleLowerCase('en-US') === 'component'
                ? entity.metadata.title ?? entity.metadata.name
                : undefined
            }
          />
          {value.workers.length === 0 ? (
            <NoWorkersEmptyState pool={pool} />
          ) : (
            <Grid.Root columns={{ initial: '1', md: '2', xl: '3' }} gap="4">
              {value.workers.map(worker => (
                <WorkerCard key={worker.id} worker={worker} />
              ))}
            </Grid.Root>
          )}
        </>
      )}
      <UtilizationHistoryCard
        pool={pool}
        range="15m"
        liveWorkerIds={liveWorkerIds}
      />
      <UtilizationHistoryCard
        pool={pool}
        range="24h"
        liveWorkerIds={liveWorkerIds}
      />
      <ModelVersionsTable pool={pool} />
    </Flex>
  );
}

/**
 * The GPU utilization tab: the live workers of a pool, their history over 15 minutes and 24 hours,
 * and the model versions the pool serves. On a `gpu-pool` Resource it shows that pool, on a
 * Component the pool its `gekko.io/gpu-pool` annotation names.
 */
export function GpuUtilizationContent() {
  const { entity } = useEntity();
  const pool = gpuPoolOfEntity(entity);
  if (!pool) {
    return (
      <MissingAnnotationEmptyState annotation={GEKKO_ANNOTATIONS.gpuPool} />
    );
  }
  return <LivePool pool={pool} entity={entity} />;
}
