import { useApi } from '@backstage/frontend-plugin-api';
import { Alert } from '@backstage/ui';
import useAsync from 'react-use/esm/useAsync';
import { gekkoApiRef } from '../api/GekkoApi';
import { isResponseStatus } from '../api/isResponseStatus';
import { ShortHash } from './ShortHash';

/** Whether the audit hash chain is intact, from `GET /audit/verify`, with its head hash. */
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
          Last intact hash <ShortHash hash={value.headHash} />
        </>
      }
    />
  );
}
