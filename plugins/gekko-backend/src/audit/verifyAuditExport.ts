import { AuditVerifyResult } from '@gekko/plugin-gekko-common';
import { Readable } from 'node:stream';
import { isCheckpointLine, readAuditLines } from './AuditArchive';
import { ChainVerifier } from './ChainVerifier';
import type { TrustedKeys } from './signing';

/** One file of an offline check: an export, or an archive segment. */
export interface AuditExportInput {
  /** Its name, for the report (the file name of an archive segment). */
  name: string;
  input: Readable;
  gzip?: boolean;
}

/**
 * Verifies an export of the audit trail (`GET /api/gekko/audit/export`), or archive files, offline,
 * with the same rules as the live `verify`. Several inputs are one chain, read in the order given
 * (archive segments first, then an export of what is live). With `trusted` public keys, every
 * checkpoint line must carry a good signature and the last record must be signed: an export ends at
 * a checkpoint the backend signed for it, and an archive segment at the checkpoint it was cut at.
 * Compare its `headHash` with the live one to know nothing was cut off.
 */
export async function verifyAuditExport(
  inputs: Readable | AuditExportInput[],
  options: { trusted?: TrustedKeys } = {},
): Promise<AuditVerifyResult> {
  const files = Array.isArray(inputs)
    ? inputs
    : [{ name: 'export', input: inputs }];
  const verifier = new ChainVerifier({ trusted: options.trusted });
  for (const file of files) {
    verifier.segment = file.name;
    try {
      for await (const { line, lineNo } of readAuditLines(file.input, {
        gzip: Boolean(file.gzip),
      })) {
        if (!line) {
          verifier.breakAt(
            verifier.lastSeq + 1,
            `line ${lineNo} of ${file.name} is not JSON`,
          );
          break;
        }
        const ok = isCheckpointLine(line)
          ? verifier.checkpointAtHead(line.checkpoint)
          : (() => {
              const { hash, prevHash, ...fields } = line;
              return verifier.push({ fields, prevHash, hash });
            })();
        if (!ok) break;
      }
    } catch (error) {
      verifier.breakAt(
        verifier.lastSeq + 1,
        `${file.name} cannot be read: ${(error as Error).message}`,
      );
    } finally {
      file.input.destroy();
    }
    if (verifier.isBroken) break;
  }
  const unsignedRecords = verifier.unsignedRecords;
  if (options.trusted && unsignedRecords > 0) {
    verifier.breakAt(
      verifier.lastSeq - unsignedRecords + 1,
      `is not covered by a signed checkpoint, nor are the ${
        unsignedRecords - 1
      } records after it: an export or archive file ends at a checkpoint, so records were added after it was written`,
    );
  }
  return {
    ...verifier.result(),
    checkpoints: verifier.checkpointsSummary(),
  };
}
