import { stringifyEntityRef } from '@backstage/catalog-model';
import { useEntity } from '@backstage/plugin-catalog-react';
import { Flex } from '@backstage/ui';
import { AuditChainStatus } from './AuditChainStatus';
import { AuditRecordsTable } from './AuditRecordsTable';

/** The Audit tab of an entity page: the chain's status and the entity's audit records. */
export function AuditContent() {
  const { entity } = useEntity();
  return (
    <Flex direction="column" gap="4">
      <AuditChainStatus />
      <AuditRecordsTable entityRef={stringifyEntityRef(entity)} />
    </Flex>
  );
}
