import { StructuredMetadataTable } from '@backstage/core-components';
import { Box, Text } from '@backstage/ui';
import type { AuditRecord } from '@gekko/plugin-gekko-common';
import { ShortHash } from './ShortHash';

/** The expanded row of an audit record: its details and where it sits in the hash chain. */
export function AuditRecordDetails(props: { record: AuditRecord }) {
  const { record } = props;
  return (
    <Box p="4">
      <StructuredMetadataTable
        dense
        options={{ titleFormat: key => key }}
        metadata={{
          'Request ID': record.requestId ? (
            <code>{record.requestId}</code>
          ) : (
            '—'
          ),
          Hash: <ShortHash hash={record.hash} />,
          'Previous hash': <ShortHash hash={record.prevHash} />,
        }}
      />
      <Text as="p" variant="body-small" weight="bold">
        Details
      </Text>
      <pre>{JSON.stringify(record.details, null, 2)}</pre>
    </Box>
  );
}
