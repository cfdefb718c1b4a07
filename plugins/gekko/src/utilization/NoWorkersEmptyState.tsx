import { CodeSnippet, EmptyState } from '@backstage/core-components';
import { Flex, Text } from '@backstage/ui';

/** A pool without workers, and the two ways to give it one. */
export function NoWorkersEmptyState(props: { pool: string }) {
  const { pool } = props;
  return (
    <EmptyState
      missing="data"
      title={`No worker has joined ${pool} yet`}
      description="Workers join a pool when they start and leave when they stop; this page shows them as soon as their first heartbeat arrives."
      action={
        <Flex direction="column" gap="2">
          <Text as="p">
            Start a worker on a machine with the pool's accelerator. It dials
            out to the NATS server that the backend uses (
            <code>gekko.nats.servers</code>):
          </Text>
          <CodeSnippet
            language="shell"
            text={`gekko-worker --nats nats://<nats-host>:4222 --pool ${pool}`}
            showCopyCodeButton
          />
          <Text as="p">
            Or, for the embedded portal, have the backend's own embedded workers
            serve this pool, in <code>app-config.yaml</code>:
          </Text>
          <CodeSnippet
            language="yaml"
            text={`gekko:\n  inference:\n    embedded:\n      pool: ${pool}`}
            showCopyCodeButton
          />
        </Flex>
      }
    />
  );
}
