import { z } from 'zod';

/** How an audited action ended. @public */
export const AUDIT_OUTCOMES = ['success', 'failure', 'denied'] as const;

/** An audited action's outcome. @public */
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** A JSON value as stored in audit details. @public */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/** One record of the hash-chained audit trail. @public */
export interface AuditRecord {
  /** Position in the chain, from 1, without gaps. */
  seq: number;
  /** ISO 8601 time of the append. */
  time: string;
  /** Who acted: a user entity ref or a service subject (`plugin:catalog`, `external:ci`). */
  actor: string;
  /** What was done, `<area>.<verb>`, e.g. `pool.create`. */
  action: string;
  /** The catalog entity the action was about, if any. */
  target: string | null;
  outcome: AuditOutcome;
  requestId: string | null;
  /** Context, with secrets redacted. */
  details: { [key: string]: JsonValue };
  /** Hash of the previous record (64 zeros for the first). */
  prevHash: string;
  /** SHA-256 hex of `prevHash ‖ canonicalJson(fields)`. */
  hash: string;
}

/** The hashed fields of a record, in the form that is canonicalized. @public */
export type AuditRecordFields = Omit<AuditRecord, 'hash' | 'prevHash'>;

/** The hash that precedes the first record. @public */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/**
 * A signed checkpoint of the chain: the backend's Ed25519 key vouches that record `seq` had hash
 * `hash` at `time`. As every hash covers all the records before it, a checkpoint pins the whole
 * chain up to `seq`: someone who rewrites the records (and the head row) consistently, without the
 * private key, cannot make a checkpoint agree with them again.
 *
 * @public
 */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  /** ISO 8601 time of the signature. */
  time: string;
  /** The signing key's id: the first 16 hex digits of SHA-256 of its SPKI DER encoding. */
  keyId: string;
  /** Base64 Ed25519 signature of {@link canonicalAuditCheckpoint}. */
  signature: string;
}

/** The bytes a checkpoint's signature covers. @public */
export function canonicalAuditCheckpoint(
  checkpoint: Omit<AuditCheckpoint, 'signature'>,
): string {
  return canonicalJson({
    chain: 'gekko-audit',
    hash: checkpoint.hash,
    keyId: checkpoint.keyId,
    seq: checkpoint.seq,
    time: checkpoint.time,
    v: 1,
  });
}

/** What `verify` says of the signed checkpoints. @public */
export interface AuditCheckpointsSummary {
  /** False when the backend has no signing key (`gekko.audit.signing`): nothing was checked. */
  enabled: boolean;
  /** Checkpoints whose signature and hash were checked. */
  checked: number;
  /** The last checkpoint that matched the chain. */
  lastSigned: { seq: number; time: string; keyId: string } | null;
  /** Records after the last signed checkpoint (not yet signed: normal for a few seconds). */
  unsignedRecords: number;
  /**
   * The copy of the checkpoints kept outside the database (a NATS JetStream stream), when there is
   * one: the newest checkpoint it holds, which the chain must pass through, or why it could not be
   * read.
   */
  witness?: {
    name: string;
    seq: number | null;
    time: string | null;
    error?: string;
  };
}

/** What `verify` says of the archive. @public */
export interface AuditArchiveSummary {
  /** Archived segments (compressed JSONL files) walked. */
  segments: number;
  /** Records read from them. */
  records: number;
}

/** What `verify` answers. @public */
export interface AuditVerifyResult {
  valid: boolean;
  /** Records walked (archived and live). */
  checked: number;
  /** Hash of the last record walked (of the last valid one when broken). */
  headHash: string | null;
  firstBrokenSeq: number | null;
  reason: string | null;
  /** Where the first broken record sits: `live` (the database) or the archive file's name. */
  segment?: string | null;
  checkpoints?: AuditCheckpointsSummary;
  archive?: AuditArchiveSummary;
}

/** A line of an export or archive file that carries a checkpoint rather than a record. @public */
export interface AuditCheckpointLine {
  checkpoint: AuditCheckpoint;
}

/** A page of audit records. @public */
export interface AuditPage {
  items: AuditRecord[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  nextCursor?: string;
}

/**
 * Canonical JSON of a value: object keys sorted, no whitespace, `undefined` members dropped.
 * The same input gives the same bytes on every machine, which is what the chain hashes.
 *
 * @public
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new TypeError('canonical JSON cannot hold NaN or Infinity');
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value
      .map(v => (v === undefined ? 'null' : canonicalJson(v)))
      .join(',')}]`;
  }
  const entries = Object.keys(value)
    .filter(k => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map(
      k =>
        `${JSON.stringify(k)}:${canonicalJson(
          (value as Record<string, unknown>)[k],
        )}`,
    );
  return `{${entries.join(',')}}`;
}

/** The bytes a record's hash covers, after its predecessor's hash. @public */
export function canonicalAuditRecord(fields: AuditRecordFields): string {
  return canonicalAuditRecordWithDetails(fields, canonicalJson(fields.details));
}

/**
 * {@link canonicalAuditRecord} for a record whose details are already canonical JSON (as the
 * database stores them): the same bytes, without parsing the details again.
 *
 * @public
 */
export function canonicalAuditRecordWithDetails(
  fields: Omit<AuditRecordFields, 'details'>,
  canonicalDetails: string,
): string {
  // Keys in sorted order, exactly as canonicalJson writes them.
  const s = JSON.stringify;
  return (
    `{"action":${s(fields.action)},"actor":${s(fields.actor)},` +
    `"details":${canonicalDetails},"outcome":${s(fields.outcome)},` +
    `"requestId":${s(fields.requestId)},"seq":${s(fields.seq)},` +
    `"target":${s(fields.target)},"time":${s(fields.time)}}`
  );
}

/** A date, or a date and time, in ISO 8601 (`2026-12-02`, `2026-12-02T09:30:00Z`, with an offset). */
const ISO_8601 =
  /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

const isoTime = z
  .string()
  .max(40)
  .refine(
    v => ISO_8601.test(v) && !Number.isNaN(Date.parse(v)),
    'must be an ISO 8601 time such as 2026-12-02T09:30:00Z',
  );

/** A whole number in a query string: digits only (not `0x10`, `1e2` or ` 5`). */
function queryWholeNumber(min: number, max: number) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.preprocess(
    v => (typeof v === 'string' && /^\d{1,9}$/.test(v) ? Number(v) : v),
    z
      .number({ invalid_type_error: message })
      .int(message)
      .min(min, message)
      .max(max, message),
  );
}

/** How deep audit details may nest: deeper is refused rather than stored. */
export const AUDIT_DETAILS_MAX_DEPTH = 16;

/** How deep a JSON value nests (a scalar is 0), counted without recursion. */
function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > AUDIT_DETAILS_MAX_DEPTH) return deepest;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Query string of `GET /audit/records`. @public */
export const auditQuerySchema = z
  .object({
    entityRef: z.string().max(300).optional(),
    actor: z.string().max(300).optional(),
    action: z.string().max(100).optional(),
    outcome: z.enum(AUDIT_OUTCOMES).optional(),
    from: isoTime.optional(),
    to: isoTime.optional(),
    cursor: z.string().max(100).optional(),
    limit: queryWholeNumber(1, 500).default(50),
    order: z.enum(['asc', 'desc']).default('desc'),
  })
  .strict();

/** Filters of `GET /audit/records`, as a client sends them. @public */
export type AuditRecordsQuery = Omit<
  z.input<typeof auditQuerySchema>,
  'limit'
> & { limit?: number };

/** Body of `POST /audit/events`, an event recorded by another system. @public */
export const appendAuditEventSchema = z
  .object({
    action: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/,
        'must be dotted lower-case words such as deployment.promote',
      )
      .max(100),
    target: z.string().max(300),
    outcome: z.enum(AUDIT_OUTCOMES).default('success'),
    details: z
      .record(z.string(), z.any())
      .refine(
        d => jsonDepth(d) <= AUDIT_DETAILS_MAX_DEPTH,
        `must not nest deeper than ${AUDIT_DETAILS_MAX_DEPTH} levels`,
      )
      .default({}),
  })
  .strict();

/** Input of an appended external event. @public */
export type AppendAuditEventRequest = z.input<typeof appendAuditEventSchema>;
