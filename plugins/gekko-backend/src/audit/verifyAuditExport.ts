import { AuditRecord, AuditVerifyResult } from '@gekko/plugin-gekko-common';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { ChainVerifier } from './ChainVerifier';

/**
 * Verifies a JSONL export of the audit trail (`GET /api/gekko/audit/export`) offline, with the same
 * rules as the live `verify`. Compare its `headHash` with the live one to know nothing was cut off.
 */
export async function verifyAuditExport(
  input: Readable,
): Promise<AuditVerifyResult> {
  const verifier = new ChainVerifier();
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of lines) {
    lineNo += 1;
    if (!line.trim()) continue;
    let record: AuditRecord;
    try {
      record = JSON.parse(line);
    } catch {
      verifier.breakAt(
        verifier.lastSeq + 1,
        `line ${lineNo} of the export is not JSON`,
      );
      break;
    }
    const { hash, prevHash, ...fields } = record;
    if (!verifier.push({ fields, prevHash, hash })) break;
  }
  lines.close();
  return verifier.result();
}
