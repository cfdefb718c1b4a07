import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import {
  EmptyState,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import {
  ButtonLink,
  Card,
  CardBody,
  CardHeader,
  Flex,
  Text,
} from '@backstage/ui';
import {
  Deployment,
  GPU_POOL_ENTITY_TYPE,
  ModelVersion,
  deploymentSignalChannel,
} from '@gekko/plugin-gekko-common';
import { useCallback, useMemo, useState } from 'react';
import { gekkoApiRef } from '../api/GekkoApi';
import { StaleDataAlert } from '../utilization/StaleDataAlert';
import { DeploymentDetails } from './DeploymentDetails';
import { DeploymentHistory } from './DeploymentHistory';
import { isFinished, modelOf } from './deploymentModel';
import { NowServing } from './NowServing';
import { LiveDataState, useLiveData } from './useLiveData';

/** Where the Create page's deployment template lives. */
export const DEPLOY_TEMPLATE_PATH =
  '/create/templates/default/deploy-model-version';

/** For data that is read again through another's change, not on signals. */
const NO_CHANNELS: string[] = [];

/** How often to read again: rarely when changes are pushed, often while something moves. */
function pollInterval(pushed: boolean, moving: boolean) {
  if (pushed) return 30_000;
  return moving ? 2_000 : 10_000;
}

/** The deployments a page shows: an entity's own, or on a pool those of the models it serves. */
function scopeOf(entity: Entity) {
  const isPool =
    entity.kind.toLocaleLowerCase('en-US') === 'resource' &&
    entity.spec?.type === GPU_POOL_ENTITY_TYPE;
  return isPool
    ? { pool: entity.metadata.name }
    : { entityRef: stringifyEntityRef(entity).toLocaleLowerCase('en-US') };
}

function onPool(
  deployment: Deployment,
  pool: string,
  versions: ModelVersion[],
): boolean {
  const pools = (deployment.spec as { pools?: unknown }).pools;
  if (Array.isArray(pools)) return pools.includes(pool);
  const model = modelOf(deployment);
  return versions.some(v => v.name === model && v.pools.includes(pool));
}

function Section(props: {
  title: string;
  label: string;
  children: React.ReactNode;
  action?: React.ReactNode;
}) {
  return (
    <Card aria-label={props.label}>
      <CardHeader>
        <Flex justify="between" align="center">
          <Text as="h3" variant="title-x-small">
            {props.title}
          </Text>
          {props.action}
        </Flex>
      </CardHeader>
      <CardBody>{props.children}</CardBody>
    </Card>
  );
}

/** The deployment the page shows in full, once it is read. */
function CurrentDeployment(props: {
  id: string;
  details: LiveDataState<Deployment | undefined>;
  onRolledBack: () => void;
}) {
  const { id, details, onRolledBack } = props;
  if (details.value?.id === id) {
    return (
      <DeploymentDetails
        deployment={details.value}
        onRolledBack={onRolledBack}
      />
    );
  }
  if (details.error) {
    return (
      <ResponseErrorPanel
        title="Could not read the deployment"
        error={details.error}
      />
    );
  }
  return <Progress />;
}

/**
 * The Deployments tab, on Components that deploy through the portal and on GPU pool Resources:
 * what runs now, the deployment in flight (live: the backend pushes each change), the evidence of
 * its analyses, the history, and a permission-checked Roll back for each succeeded deployment.
 */
export function DeploymentsContent() {
  const { entity } = useEntity();
  const gekkoApi = useApi(gekkoApiRef);
  const scope = useMemo(() => scopeOf(entity), [entity]);
  const [selectedId, setSelectedId] = useState<string>();

  const loadDeployments = useCallback(
    async () =>
      (
        await gekkoApi.listDeployments({
          ...(scope.entityRef ? { entityRef: scope.entityRef } : {}),
          limit: 100,
        })
      ).items,
    [gekkoApi, scope.entityRef],
  );
  const loadVersions = useCallback(
    async () => (await gekkoApi.listModelVersions()).items,
    [gekkoApi],
  );

  // The channels of the entities whose deployments this page shows.
  const [channels, setChannels] = useState<string[]>(
    scope.entityRef ? [deploymentSignalChannel(scope.entityRef)] : [],
  );
  const deployments = useLiveData(loadDeployments, channels, (pushed, items) =>
    pollInterval(pushed, !!items?.some(d => !isFinished(d))),
  );
  const versions = useLiveData(loadVersions, channels, (pushed, items) =>
    pollInterval(
      pushed,
      !!deployments.value?.some(d => !isFinished(d)) && !!items,
    ),
  );

  const shown = useMemo(() => {
    const all = deployments.value ?? [];
    if (!scope.pool) return all;
    return all.filter(d => onPool(d, scope.pool!, versions.value ?? []));
  }, [deployments.value, versions.value, scope.pool]);

  const poolChannels = useMemo(
    () =>
      scope.pool
        ? [...new Set(shown.map(d => deploymentSignalChannel(d.entityRef)))]
        : undefined,
    [shown, scope.pool],
  );
  if (poolChannels && poolChannels.join() !== channels.join()) {
    setChannels(poolChannels);
  }

  const current =
    shown.find(d => d.id === selectedId) ??
    shown.find(d => !isFinished(d)) ??
    shown[0];

  const loadCurrent = useCallback(
    () =>
      current ? gekkoApi.getDeployment(current.id) : Promise.resolve(undefined),
    // Read again whenever the list shows it changed.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [gekkoApi, current?.id, current?.updatedAt, current?.state],
  );
  // No channels of its own: a signal reloads the list, whose new `updatedAt` reloads this once.
  const details = useLiveData(loadCurrent, NO_CHANNELS, () => 60_000);

  const models = useMemo(() => {
    const names = new Set(shown.map(modelOf).filter(Boolean));
    return (versions.value ?? []).filter(
      v =>
        names.has(v.name) ||
        (scope.pool ? v.pools.includes(scope.pool) : false),
    );
  }, [shown, versions.value, scope.pool]);

  const refreshAll = () => {
    deployments.refresh();
    versions.refresh();
    details.refresh();
  };

  if (deployments.loading) return <Progress />;
  if (!deployments.value) {
    return (
      <ResponseErrorPanel
        title="Could not read the deployments"
        error={deployments.error!}
      />
    );
  }

  const deployButton = (
    <ButtonLink href={DEPLOY_TEMPLATE_PATH} variant="primary" size="small">
      Deploy a model version
    </ButtonLink>
  );

  return (
    <Flex direction="column" gap="4">
      {deployments.error && (
        <StaleDataAlert
          what="the deployments"
          error={deployments.error}
          updatedAt={deployments.updatedAt}
        />
      )}
      {!deployments.pushed && (
        <Text variant="body-small" color="secondary">
          Live updates are off in this app (no signals); the page reads the
          deployments again every few seconds.
        </Text>
      )}
      <Section title="Now serving" label="Now serving" action={deployButton}>
        {versions.value ? (
          <NowServing versions={models} />
        ) : (
          versions.error && (
            <ResponseErrorPanel
              title="Could not read the model versions"
              error={versions.error}
            />
          )
        )}
      </Section>
      {current ? (
        <Section
          title={
            isFinished(current) ? 'Latest deployment' : 'Deployment in flight'
          }
          label="Deployment"
        >
          <CurrentDeployment
            id={current.id}
            details={details}
            onRolledBack={refreshAll}
          />
        </Section>
      ) : (
        <EmptyState
          missing="data"
          title="Nothing was deployed through the portal yet"
          description="Start a validated canary, blue-green or rolling deployment from the Create page: it is checked, rolled out step by step with an analysis after each step, and rolled back by itself when an analysis fails."
          action={deployButton}
        />
      )}
      {shown.length > 0 && (
        <DeploymentHistory
          deployments={shown}
          selectedId={current?.id}
          onSelect={setSelectedId}
          onRolledBack={refreshAll}
        />
      )}
    </Flex>
  );
}
