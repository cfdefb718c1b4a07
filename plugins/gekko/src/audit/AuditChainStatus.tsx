import { useApi } from '@backstage/frontend-plugin-api';
import { AuditVerifyResult } from '@gekko/plugin-gekko-common';
import { Fragment, ReactNode } from 'react';
import { Alert } from '@backstage/ui';
import useAsync from 'react-use/esm/useAsync';
import { gekkoApiRef } from '../api/GekkoApi';
import { isResponseStatus } from '../api/isResponseStatus';
import { ShortHash } from './ShortHash';

function plural(n: number, one: string, many = `${one}s`) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

/** What verify says of the signed checkpoints and the archive, in one line. */
function Integrity(props: { value: AuditVerifyResult }) {
  const { checkpoints, archive } = props.value;
  const parts: ReactNode[] = [];
  if (checkpoints?.enabled && checkpoints.lastSigned) {
    parts.push(
      <span key="signed">
        Signed up to record {checkpoints.lastSigned.seq.toLocaleString()} at{' '}
        {new Date(checkpoints.lastSigned.time).toLocaleString()} (key{' '}
        <code>{checkpoints.lastSigned.keyId}</code>)
        {checkpoints.unsignedRecords > 0 &&
          `, ${plural(
            checkpoints.unsignedRecords,
            'newer record',
          )} not signed yet`}
      </span>,
    );
  } else if (checkpoints?.enabled) {
    parts.push(<span key="signed">No checkpoint signed yet</span>);
  } else if (checkpoints) {
    parts.push(
      <span key="signed">
        Checkpoints are off: without a signing key (gekko.audit.signing), a
        consistent rewrite of the database would still verify
      </span>,
    );
  }
  if (archive && archive.segments > 0) {
    parts.push(
      <span key="archive">
        {plural(archive.records, 'record')} archived in{' '}
        {plural(archive.segments, 'file')}
      </span>,
    );
  }
  return parts.length ? (
    <>
      {parts.map((part, i) => (
        <Fragment key={i}>
          {' · '}
          {part}
        </Fragment>
      ))}
    </>
  ) : null;
}

/**
 * Whether the audit hash chain is intact, from `GET /audit/verify`: its head hash, how far signed
 * checkpoints cover it and what is archived, or where it is broken.
 */
export function AuditChainStatus() {
  const gekkoApi = useApi(gekkoApiRef);
  const { value, loading, error } = useAsync(
    () => gekkoApi.verifyAuditChain(),
    [gekkoApi],
  );

  if (loading) {
    return <Alert isPending title="Verifying the audit chain…" />;
  }
  if (error) {
    // Reading and verifying need the same permission; the records table already says so.
    if (isResponseStatus(error, 403)) {
      return null;
    }
    return (
      <Alert
        status="warning"
        icon
        title="Could not verify the audit chain"
        description={error.message}
      />
    );
  }
  if (!value) {
    return null;
  }
  if (value.valid) {
    return (
      <Alert
        status="success"
        icon
        title={`Chain verified · ${value.checked} ${
          value.checked === 1 ? 'record' : 'records'
        }`}
        description={
          <>
            Head hash <ShortHash hash={value.headHash} />
            <Integrity value={value} />
          </>
        }
      />
    );
  }
  return (
    <Alert
      status="danger"
      icon
      title={`Chain broken at seq ${value.firstBrokenSeq}: ${value.reason}`}
      description={
        <>
          {value.segment && value.segment !== 'live'
            ? `In archive file ${value.segment}. `
            : ''}
          Last intact hash <ShortHash hash={value.headHash} />
          <Integrity value={value} />. Compare with an export you verified
          earlier (gekko-audit-verify) to see what changed.
        </>
      }
    />
  );
}
