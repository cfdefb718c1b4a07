import {
  AuditOutcome,
  AuditRecord,
  AuditRecordFields,
  canonicalAuditRecordWithDetails,
  canonicalJson,
} from '@gekko/plugin-gekko-common';
import { chainHash } from './ChainVerifier';

/** The audit trail's table. */
export const RECORDS = 'gekko_audit_records';

/** A row of `gekko_audit_records`. */
export interface AuditRow {
  seq: number | string;
  time: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  request_id: string | null;
  /** The details as canonical JSON, so the record can be rebuilt without parsing them. */
  details: string;
  canonical: string;
  prev_hash: string;
  hash: string;
}

/** A row's hashed fields but the details (kept as their stored canonical JSON). */
export function rowFields(row: AuditRow): Omit<AuditRecordFields, 'details'> {
  return {
    seq: Number(row.seq),
    time: row.time,
    actor: row.actor,
    action: row.action,
    target: row.target,
    outcome: row.outcome as AuditOutcome,
    requestId: row.request_id,
  };
}

export function rowToRecord(row: AuditRow): AuditRecord {
  return {
    ...rowFields(row),
    details: JSON.parse(row.details),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** The canonical JSON the row's columns rebuild (equal to `row.canonical` unless tampered with). */
export function canonicalOfRow(row: AuditRow): string {
  return canonicalAuditRecordWithDetails(rowFields(row), row.details);
}

/** The row and the record of `fields` chained after `prevHash`: canonical JSON and hash. */
export function chainedRow(
  fields: AuditRecordFields,
  prevHash: string,
): { row: AuditRow; record: AuditRecord } {
  const details = canonicalJson(fields.details);
  const canonical = canonicalAuditRecordWithDetails(fields, details);
  const hash = chainHash(prevHash, canonical);
  return {
    record: { ...fields, prevHash, hash },
    row: {
      seq: fields.seq,
      time: fields.time,
      actor: fields.actor,
      action: fields.action,
      target: fields.target,
      outcome: fields.outcome,
      request_id: fields.requestId,
      details,
      canonical,
      prev_hash: prevHash,
      hash,
    },
  };
}
