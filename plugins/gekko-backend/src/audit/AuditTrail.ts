import {
  AuditorService,
  AuditorServiceEventSeverityLevel,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import {
  AUDIT_GENESIS_HASH,
  AuditOutcome,
  AuditPage,
  AuditRecord,
  AuditRecordFields,
  AuditVerifyResult,
  JsonValue,
} from '@gekko/plugin-gekko-common';
import { Knex } from 'knex';
import fs from 'node:fs';
import path from 'node:path';
import type { AuditContext } from './AuditContext';
import { isCheckpointLine, listSegments, readAuditLines } from './AuditArchive';
import { CheckpointPolicy, CheckpointStore } from './AuditCheckpoints';
import { AuditRow, chainedRow, RECORDS, rowToRecord } from './auditRows';
import { ChainReader } from './chainReader';
import { ChainVerifier } from './ChainVerifier';
import { redactSecrets } from './redact';
import type { AuditWitness } from './AuditWitness';
import type { TrustedKeys } from './signing';

const HEAD = 'gekko_audit_head';
/** Rows per INSERT: SQLite allows 999 bound variables, a row has 11. */
const INSERT_CHUNK = 80;
/** Appends merged into one transaction at most (group commit). */
const MAX_GROUP = 1000;
const PAGE = 10_000;

/** What a caller records; the trail adds seq, time and the hashes. */
export interface AuditEntry {
  actor: string;
  action: string;
  target?: string | null;
  outcome: AuditOutcome;
  requestId?: string | null;
  details?: Record<string, unknown>;
}

/** Filters of an audit query, already validated. */
export interface AuditQuery {
  target?: string;
  actor?: string;
  action?: string;
  outcome?: AuditOutcome;
  from?: string;
  to?: string;
  cursor?: string;
  limit: number;
  order: 'asc' | 'desc';
}

interface PendingAppend {
  entry: AuditEntry;
  context?: AuditContext;
  resolve(record: AuditRecord): void;
  reject(error: unknown): void;
}

function severityOf(record: AuditRecord): AuditorServiceEventSeverityLevel {
  if (record.outcome === 'denied') return 'medium';
  if (record.action.endsWith('.delete')) return 'high';
  return record.action.startsWith('audit.') ? 'low' : 'medium';
}

/**
 * The tamper-evident audit trail: an append-only table where every row carries the canonical JSON
 * of its fields and `hash = SHA-256(previous hash ‖ canonical JSON)`.
 *
 * Appends that arrive together are written in one transaction (group commit), under a lock on the
 * chain's head row, so the sequence stays gap-free with any number of writers and instances.
 */
export class AuditTrail {
  private readonly pending: PendingAppend[] = [];
  private flushing = false;
  private readonly isPostgres: boolean;

  private readonly reader: ChainReader;
  private readonly checkpoints: CheckpointStore;

  constructor(
    private readonly db: Knex,
    private readonly options: {
      logger: LoggerService;
      auditor?: AuditorService;
      /**
       * The keys whose checkpoints verify trusts; set when the backend signs checkpoints
       * (`gekko.audit.signing`), and then every stored checkpoint must verify.
       */
      trusted?: TrustedKeys;
      /** When checkpoints are due: a longer unsigned tail is reported as broken. */
      checkpointPolicy?: CheckpointPolicy;
      /** `gekko.audit.archive.directory`: where archived segments are read from. */
      archiveDirectory?: string;
      /** The copy of the checkpoints outside the database, whose newest one verify checks too. */
      witness?: AuditWitness;
    },
  ) {
    this.isPostgres = String(db.client.config.client).includes('pg');
    this.reader = new ChainReader(db);
    this.checkpoints = new CheckpointStore(db);
  }

  /**
   * Appends a record and resolves once it is committed. `context` says where the request came from,
   * for Backstage's auditor service.
   */
  append(entry: AuditEntry, context?: AuditContext): Promise<AuditRecord> {
    return new Promise((resolve, reject) => {
      this.pending.push({ entry, context, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        void this.flush();
      }
    });
  }

  /**
   * Appends inside the caller's transaction, so that a change and its record commit together or
   * not at all. Call {@link AuditTrail.forward} after the commit; {@link AuditedChanges} does both.
   */
  async appendWithin(trx: Knex.Transaction, entry: AuditEntry) {
    const [record] = await this.writeChained(trx, [entry]);
    return record;
  }

  private readonly committedListeners: Array<(record: AuditRecord) => void> =
    [];

  /** Calls `listener` with every record once it is committed (for the portal's metrics). */
  onCommitted(listener: (record: AuditRecord) => void): void {
    this.committedListeners.push(listener);
  }

  /**
   * Sends a committed record to Backstage's auditor service too (and to the `onCommitted`
   * listeners). The auditor names the gekko plugin
   * as the event's reporter; the caller, their address and the request id are in its `meta`.
   */
  forward(record: AuditRecord, context?: AuditContext): void {
    for (const listener of this.committedListeners) listener(record);
    const { auditor, logger } = this.options;
    if (!auditor) return;
    const meta = {
      seq: record.seq,
      action: record.action,
      actor: record.actor,
      target: record.target,
      outcome: record.outcome,
      requestId: record.requestId,
      ...(context?.address ? { address: context.address } : {}),
      details: record.details,
    };
    auditor
      .createEvent({
        eventId: record.action.replace(/[._]/g, '-'),
        severityLevel: severityOf(record),
        meta,
      })
      .then(event =>
        record.outcome === 'success'
          ? event.success()
          : event.fail({
              error: new Error(
                record.outcome === 'denied' ? 'permission denied' : 'failed',
              ),
            }),
      )
      .catch(error =>
        logger.warn(
          `Could not forward audit record ${record.seq} to the auditor service: ${error}`,
        ),
      );
  }

  private async flush(): Promise<void> {
    // Appends that arrive while a group is being written wait for the next group. The flag is
    // cleared in the same tick as the last emptiness check, so no append is ever left behind.
    while (this.pending.length > 0) {
      const group = this.pending.splice(0, MAX_GROUP);
      try {
        const records = await this.db.transaction(trx =>
          this.writeChained(
            trx,
            group.map(p => p.entry),
          ),
        );
        group.forEach((p, i) => {
          p.resolve(records[i]);
          this.forward(records[i], p.context);
        });
      } catch (error) {
        group.forEach(p => p.reject(error));
      }
    }
    this.flushing = false;
  }

  private async writeChained(
    trx: Knex.Transaction,
    entries: AuditEntry[],
  ): Promise<AuditRecord[]> {
    const headQuery = trx(HEAD).where({ id: 1 }).first();
    const head = await (this.isPostgres ? headQuery.forUpdate() : headQuery);
    let seq = Number(head?.seq ?? 0);
    let prevHash: string = head?.hash ?? AUDIT_GENESIS_HASH;
    const time = new Date().toISOString();
    const records: AuditRecord[] = [];
    const rows: AuditRow[] = [];
    for (const entry of entries) {
      seq += 1;
      const fields: AuditRecordFields = {
        seq,
        time,
        actor: entry.actor,
        action: entry.action,
        target: entry.target ?? null,
        outcome: entry.outcome,
        requestId: entry.requestId ?? null,
        details: (redactSecrets(entry.details ?? {}) ?? {}) as {
          [key: string]: JsonValue;
        },
      };
      const { row, record } = chainedRow(fields, prevHash);
      records.push(record);
      rows.push(row);
      prevHash = record.hash;
    }
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      await trx(RECORDS).insert(rows.slice(i, i + INSERT_CHUNK));
    }
    await trx(HEAD).where({ id: 1 }).update({ seq, hash: prevHash });
    return records;
  }

  /** Records matching the filters, one page at a time (cursor = the last seq seen). */
  async query(query: AuditQuery): Promise<AuditPage> {
    let q = this.db<AuditRow>(RECORDS);
    if (query.target) q = q.where('target', query.target);
    if (query.actor) q = q.where('actor', query.actor);
    if (query.action) q = q.where('action', query.action);
    if (query.outcome) q = q.where('outcome', query.outcome);
    if (query.from)
      q = q.where('time', '>=', new Date(query.from).toISOString());
    if (query.to) q = q.where('time', '<=', new Date(query.to).toISOString());
    if (query.cursor !== undefined) {
      if (!/^\d{1,15}$/.test(query.cursor)) {
        throw new InputError(
          'Invalid cursor: pass the nextCursor of a previous page',
        );
      }
      q = q.where('seq', query.order === 'desc' ? '<' : '>', query.cursor);
    }
    const rows = await q.orderBy('seq', query.order).limit(query.limit + 1);
    const items = rows.slice(0, query.limit).map(rowToRecord);
    return rows.length > query.limit
      ? { items, nextCursor: String(items[items.length - 1].seq) }
      : { items };
  }

  /** Every record in sequence order, read page by page. */
  async *records(): AsyncGenerator<AuditRecord> {
    for await (const row of this.rows()) yield rowToRecord(row);
  }

  private async *rows(): AsyncGenerator<AuditRow> {
    let after = 0;
    for (;;) {
      const page: AuditRow[] = await this.db(RECORDS)
        .where('seq', '>', after)
        .orderBy('seq', 'asc')
        .limit(PAGE);
      yield* page;
      if (page.length < PAGE) return;
      after = Number(page[page.length - 1].seq);
    }
  }

  /**
   * Re-walks the whole chain, archived segments then live records, checks every signed checkpoint
   * against it, and names the first broken record and the segment it sits in.
   */
  async verify(now = Date.now()): Promise<AuditVerifyResult> {
    const { trusted, checkpointPolicy } = this.options;
    const verifier = new ChainVerifier({ trusted });
    if (trusted) verifier.addCheckpoints(await this.checkpoints.list());
    const witness = trusted ? await this.witnessed(verifier) : undefined;
    const archived = await this.walkArchive(verifier);

    verifier.segment = 'live';
    if (!verifier.isBroken) {
      // From the start: a live record that is also archived shows as out of order.
      for await (const page of this.reader.pages(0)) {
        if (!verifier.pushRows(page)) break;
      }
    }
    verifier.finish();
    if (!verifier.isBroken) await this.checkHead(verifier);

    if (
      !verifier.isBroken &&
      trusted &&
      checkpointPolicy &&
      verifier.unsignedRecords
    ) {
      await this.checkUnsignedTail(verifier, checkpointPolicy, now);
    }
    return {
      ...verifier.result(),
      checkpoints: {
        ...verifier.checkpointsSummary(),
        ...(witness ? { witness } : {}),
      },
      archive: archived,
    };
  }

  /** The witness's newest checkpoint, added to those the chain must pass through. */
  private async witnessed(verifier: ChainVerifier) {
    const { witness } = this.options;
    if (!witness) return undefined;
    try {
      const checkpoint = await Promise.race([
        witness.latest(),
        new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error('no answer within 5 s')),
            5000,
          ).unref(),
        ),
      ]);
      if (checkpoint) verifier.addCheckpoints([checkpoint]);
      return {
        name: witness.name,
        seq: checkpoint?.seq ?? null,
        time: checkpoint?.time ?? null,
      };
    } catch (error) {
      return {
        name: witness.name,
        seq: null,
        time: null,
        error: `could not read it: ${(error as Error).message}`,
      };
    }
  }

  /** Feeds the archived segments to the verifier, in order. */
  private async walkArchive(verifier: ChainVerifier) {
    const segments = await listSegments(this.db);
    const dir = this.options.archiveDirectory;
    let records = 0;
    for (const segment of segments) {
      verifier.segment = segment.file;
      const file = dir && path.join(dir, segment.file);
      if (!file || !fs.existsSync(file)) {
        verifier.breakAt(
          segment.fromSeq,
          dir
            ? `is archived in ${segment.file}, which is missing from ${dir}`
            : `is archived in ${segment.file}, but gekko.audit.archive.directory is not set`,
        );
        break;
      }
      const input = fs.createReadStream(file);
      const digest: { sha256?: string } = {};
      try {
        for await (const { line, lineNo } of readAuditLines(input, {
          gzip: true,
          digest,
        })) {
          if (!line) {
            verifier.breakAt(
              verifier.lastSeq + 1,
              `line ${lineNo} of ${segment.file} is not JSON`,
            );
            break;
          }
          if (isCheckpointLine(line)) continue; // the table's checkpoints are the ones checked
          const { hash, prevHash, ...fields } = line;
          if (!verifier.push({ fields, prevHash, hash })) break;
          records += 1;
        }
      } catch (error) {
        verifier.breakAt(
          verifier.lastSeq + 1,
          `${segment.file} cannot be read: ${(error as Error).message}`,
        );
      } finally {
        input.destroy();
      }
      if (verifier.isBroken) break;
      if (verifier.lastSeq !== segment.toSeq) {
        verifier.breakAt(
          verifier.lastSeq + 1,
          `is missing from ${segment.file}, which should hold records ${segment.fromSeq}–${segment.toSeq}`,
        );
        break;
      }
      if (digest.sha256 !== segment.sha256) {
        verifier.breakAt(
          segment.fromSeq,
          `${segment.file} was changed after it was archived: its SHA-256 differs from the one recorded when it was written`,
        );
        break;
      }
    }
    return { segments: segments.length, records };
  }

  /** A deleted tail leaves a valid but shorter chain: the head row still knows where it ended. */
  private async checkHead(verifier: ChainVerifier) {
    const head = await this.db(HEAD).where({ id: 1 }).first();
    const headSeq = Number(head?.seq ?? 0);
    const last = verifier.lastSeq;
    if (headSeq > last) {
      verifier.breakAt(
        last + 1,
        `is missing: the chain ends at record ${last} but its head says ${headSeq}`,
      );
    } else if (headSeq < last) {
      verifier.breakAt(
        headSeq + 1,
        `lies past the chain's head (record ${headSeq}): it was added outside the trail`,
      );
    } else if (headSeq > 0 && head.hash !== verifier.lastHash) {
      verifier.breakAt(
        headSeq,
        "its hash differs from the one the chain's head recorded",
      );
    }
  }

  /**
   * Records after the last checkpoint are normal for a moment; far more than a checkpoint's worth,
   * or older than two intervals, means checkpoints were deleted (or the backend cannot sign).
   */
  private async checkUnsignedTail(
    verifier: ChainVerifier,
    policy: CheckpointPolicy,
    now: number,
  ) {
    const from = (verifier.lastCheckpoint?.seq ?? 0) + 1;
    const unsigned = verifier.lastSeq - from + 1;
    const first = await this.db(RECORDS).where({ seq: from }).first();
    const graceMs = 2 * policy.intervalMs + 60_000;
    const tooMany = unsigned > 2 * policy.every + MAX_GROUP;
    const tooOld = first && Date.parse(first.time) < now - graceMs;
    if (tooMany || tooOld) {
      verifier.breakAt(
        from,
        `is not covered by a signed checkpoint, nor are the ${
          unsigned - 1
        } records after it, though one is due every ${
          policy.every
        } records or ${Math.round(
          policy.intervalMs / 1000,
        )} s: checkpoints were deleted, or this backend cannot sign them (see its log)`,
      );
    }
  }

  /**
   * The lines of an export: the archived segments as they were archived, then the live records up
   * to `upTo` (default: the head), each signed checkpoint on the line after its record.
   */
  async *exportLines(upTo?: number): AsyncGenerator<string> {
    const dir = this.options.archiveDirectory;
    for (const segment of await listSegments(this.db)) {
      if (!dir) break;
      const input = fs.createReadStream(path.join(dir, segment.file));
      try {
        for await (const { line } of readAuditLines(input, { gzip: true })) {
          if (line) yield JSON.stringify(line);
        }
      } finally {
        input.destroy();
      }
    }
    const head = await this.db(HEAD).where({ id: 1 }).first();
    const end = upTo ?? Number(head?.seq ?? 0);
    const checkpoints = await this.checkpoints.list({ to: end });
    let next = 0;
    for await (const record of this.records()) {
      if (record.seq > end) break;
      yield JSON.stringify(record);
      while (next < checkpoints.length && checkpoints[next].seq <= record.seq) {
        if (checkpoints[next].seq === record.seq) {
          yield JSON.stringify({ checkpoint: checkpoints[next] });
        }
        next += 1;
      }
    }
  }
}
