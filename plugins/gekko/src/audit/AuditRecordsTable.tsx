import {
  EmptyState,
  Progress,
  ResponseErrorPanel,
  Table,
  TableColumn,
} from '@backstage/core-components';
import { Alert, Button, Flex, Select } from '@backstage/ui';
import {
  AUDIT_OUTCOMES,
  AuditOutcome,
  AuditRecord,
} from '@gekko/plugin-gekko-common';
import { useState } from 'react';
import { isResponseStatus } from '../api/isResponseStatus';
import { Timestamp } from '../components/Timestamp';
import { AuditOutcomeStatus } from './AuditOutcomeStatus';
import { AuditRecordDetails } from './AuditRecordDetails';
import { useAuditRecords } from './useAuditRecords';

const ALL_OUTCOMES = 'all';

const outcomeOptions = [
  { id: ALL_OUTCOMES, label: 'All outcomes' },
  ...AUDIT_OUTCOMES.map(outcome => ({ id: outcome, label: outcome })),
];

const columns: TableColumn<AuditRecord>[] = [
  {
    title: 'Time',
    field: 'time',
    render: record => <Timestamp time={record.time} />,
  },
  { title: 'Actor', field: 'actor' },
  {
    title: 'Action',
    field: 'action',
    render: record => <code>{record.action}</code>,
  },
  {
    title: 'Outcome',
    field: 'outcome',
    render: record => <AuditOutcomeStatus outcome={record.outcome} />,
  },
  { title: 'Seq', field: 'seq', type: 'numeric' },
];

/** The audit records of one entity, newest first, filterable by outcome, a page at a time. */
export function AuditRecordsTable(props: { entityRef: string }) {
  const [outcome, setOutcome] = useState<AuditOutcome>();
  const { records, hasOlder, loading, error, loadOlder } = useAuditRecords(
    props.entityRef,
    outcome,
  );

  if (error) {
    if (isResponseStatus(error, 403)) {
      return (
        <Alert
          status="warning"
          icon
          title="You need the gekko.audit.read permission to see the audit trail"
          description="Ask an administrator of the portal to grant it to you or to one of your groups."
        />
      );
    }
    return <ResponseErrorPanel error={error} />;
  }

  return (
    <Flex direction="column" gap="2">
      <Flex justify="end">
        <Select
          label="Outcome"
          options={outcomeOptions}
          value={outcome ?? ALL_OUTCOMES}
          onChange={key => setOutcome(AUDIT_OUTCOMES.find(o => o === key))}
        />
      </Flex>
      {records ? (
        <Table<AuditRecord>
          title="Audit trail"
          isLoading={loading}
          columns={columns}
          data={records}
          options={{ paging: false, search: false, padding: 'dense' }}
          detailPanel={({ rowData }) => <AuditRecordDetails record={rowData} />}
          onRowClick={(_event, _record, togglePanel) => togglePanel?.()}
          emptyContent={
            <EmptyState
              missing="data"
              title={
                outcome
                  ? `No ${outcome} records for this entity`
                  : 'No audit records for this entity yet'
              }
              description="Every change made to this entity through the portal is recorded here: who made it, when, and whether it succeeded, failed or was denied."
            />
          }
        />
      ) : (
        <Progress />
      )}
      {hasOlder && (
        <Flex justify="center">
          <Button variant="secondary" onPress={loadOlder} isPending={loading}>
            Load older
          </Button>
        </Flex>
      )}
    </Flex>
  );
}
