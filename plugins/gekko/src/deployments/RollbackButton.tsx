import { ResponseErrorPanel } from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  Alert,
  Button,
  Dialog,
  DialogBody,
  DialogFooter,
  DialogHeader,
  Flex,
  Text,
} from '@backstage/ui';
import {
  Deployment,
  gekkoDeploymentRollbackPermission,
} from '@gekko/plugin-gekko-common';
import { useState } from 'react';
import { gekkoApiRef } from '../api/GekkoApi';
import { PlainTable } from '../components/PlainTable';
import { Timestamp } from '../components/Timestamp';
import { releaseOf, snapshotOf } from './deploymentModel';

/** What a rollback puts back, version by version, from the deployment's snapshot. */
function WhatIsRestored(props: { deployment: Deployment }) {
  const snapshot = snapshotOf(props.deployment);
  if (!snapshot) {
    return (
      <Text as="p">
        The deployment changed nothing before it ended: there is nothing to
        restore.
      </Text>
    );
  }
  return (
    <Flex direction="column" gap="2">
      <Text as="p">
        Traffic of <strong>{snapshot.model}</strong> goes back to what it was
        before {releaseOf(props.deployment)}
        {snapshot.takenAt && (
          <>
            {' '}
            (snapshot of <Timestamp time={snapshot.takenAt} />)
          </>
        )}
        :
      </Text>
      <PlainTable
        label="What the rollback restores"
        headers={['Version', 'State', 'Traffic weight', 'Pools']}
        rows={snapshot.versions.map(v => ({
          key: v.version,
          cells: [v.version, v.state, String(v.weight), v.pools.join(', ')],
        }))}
      />
    </Flex>
  );
}

/**
 * Rolls a succeeded deployment back, after a confirmation that shows what will be restored. Shown
 * to everyone, enabled only for people the permission policy lets roll this entity back.
 */
export function RollbackButton(props: {
  deployment: Deployment;
  /** Told once the backend has accepted the rollback. */
  onRolledBack?: (deployment: Deployment) => void;
}) {
  const { deployment, onRolledBack } = props;
  const gekkoApi = useApi(gekkoApiRef);
  const { allowed, loading } = usePermission({
    permission: gekkoDeploymentRollbackPermission,
    resourceRef: deployment.entityRef,
  });
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();

  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const answer = await gekkoApi.rollbackDeployment(deployment.id);
      setOpen(false);
      onRolledBack?.(answer);
    } catch (e) {
      setError(e instanceof Error ? e : new Error(String(e)));
    } finally {
      setBusy(false);
    }
  };

  const label = `Roll back ${releaseOf(deployment)}`;
  const button = (
    <Button
      variant="secondary"
      size="small"
      destructive
      isDisabled={loading || !allowed}
      aria-label={label}
      onPress={() => setOpen(true)}
    >
      Roll back
    </Button>
  );

  return (
    <>
      {allowed || loading ? (
        button
      ) : (
        // A disabled button takes no pointer events: the span says why on hover.
        <span
          title={`You may not roll back ${deployment.entityRef}: ask its owners or the platform team.`}
        >
          {button}
        </span>
      )}
      <Dialog
        isOpen={open}
        onOpenChange={next => !busy && setOpen(next)}
        width={560}
      >
        <DialogHeader>Roll back {releaseOf(deployment)}?</DialogHeader>
        <DialogBody>
          <Flex direction="column" gap="3">
            <WhatIsRestored deployment={deployment} />
            <Alert
              status="warning"
              title="Live traffic moves at once"
              description="The rollback is recorded in the audit trail under your name. The deployment's release stays registered; deploy it again later with the template."
            />
            {error && (
              <ResponseErrorPanel
                title="The rollback was refused"
                error={error}
              />
            )}
          </Flex>
        </DialogBody>
        <DialogFooter>
          <Button
            variant="secondary"
            onPress={() => setOpen(false)}
            isDisabled={busy}
          >
            Cancel
          </Button>
          <Button
            variant="primary"
            destructive
            loading={busy}
            onPress={confirm}
          >
            Roll back now
          </Button>
        </DialogFooter>
      </Dialog>
    </>
  );
}
