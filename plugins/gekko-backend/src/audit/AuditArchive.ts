import { LoggerService } from '@backstage/backend-plugin-api';
import {
  AUDIT_GENESIS_HASH,
  AuditCheckpoint,
  AuditCheckpointLine,
  AuditRecord,
} from '@gekko/plugin-gekko-common';
import { Knex } from 'knex';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { CheckpointStore } from './AuditCheckpoints';
import type { AuditTrail } from './AuditTrail';
import { AuditRow, RECORDS, rowToRecord } from './auditRows';
import { ChainVerifier } from './ChainVerifier';
import type { TrustedKeys } from './signing';

const SEGMENTS = 'gekko_audit_segments';

/** `gekko.audit.archive`, as read from config. */
export interface AuditArchiveConfig {
  /** Absolute path of the folder the archive files go to. */
  directory: string;
  /** Records older than this move to the archive. */
  olderThanMs: number;
  /** How often the backend looks for records to archive. */
  intervalMs: number;
  /** A file holds about this many records (whole checkpointed spans: one span may hold more). */
  maxRecordsPerFile: number;
}

/** One archived segment, as its row in `gekko_audit_segments` records it. */
export interface AuditSegment {
  fromSeq: number;
  toSeq: number;
  file: string;
  sha256: string;
  lastHash: string;
  archivedAt: string;
}

interface SegmentRow {
  from_seq: number | string;
  to_seq: number | string;
  file: string;
  sha256: string;
  last_hash: string;
  archived_at: string;
}

function fromRow(row: SegmentRow): AuditSegment {
  return {
    fromSeq: Number(row.from_seq),
    toSeq: Number(row.to_seq),
    file: row.file,
    sha256: row.sha256,
    lastHash: row.last_hash,
    archivedAt: row.archived_at,
  };
}

/** A line of an export or archive file. */
export type AuditLine = AuditRecord | AuditCheckpointLine;

export function isCheckpointLine(line: AuditLine): line is AuditCheckpointLine {
  return (line as AuditCheckpointLine).checkpoint !== undefined;
}

/** The archive file of the records `fromSeq`…`toSeq`: sortable, and the same name every time. */
export function segmentFileName(fromSeq: number, toSeq: number): string {
  const pad = (n: number) => String(n).padStart(12, '0');
  return `gekko-audit-${pad(fromSeq)}-${pad(toSeq)}.jsonl.gz`;
}

/** All archived segments, in chain order. */
export async function listSegments(db: Knex): Promise<AuditSegment[]> {
  const rows: SegmentRow[] = await db(SEGMENTS).orderBy('from_seq', 'asc');
  return rows.map(fromRow);
}

/** Whether a file is gzip-compressed, by its first two bytes. */
export function isGzipFile(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const n = fs.readSync(fd, head, 0, 2, 0);
    return n === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads an archive or export file line by line (`line` is undefined where a line is not JSON), and
 * the SHA-256 of its bytes as stored, set in `digest` once it has been read to the end.
 */
export async function* readAuditLines(
  input: Readable,
  options: { gzip: boolean; digest?: { sha256?: string } },
): AsyncGenerator<{ line: AuditLine | undefined; lineNo: number }> {
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  input.on('error', error => tap.destroy(error));
  let text: Readable = input.pipe(tap);
  if (options.gzip) {
    const gunzip = createGunzip();
    tap.on('error', error => gunzip.destroy(error));
    text = tap.pipe(gunzip);
  }
  const lines = createInterface({ input: text, crlfDelay: Infinity });
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo += 1;
    if (!raw.trim()) continue;
    let line: AuditLine | undefined;
    try {
      line = JSON.parse(raw);
    } catch {
      line = undefined;
    }
    yield { line, lineNo };
  }
  if (options.digest) options.digest.sha256 = hash.digest('hex');
}

/**
 * Moves old audit records, as whole checkpointed segments, to compressed JSONL files, and reads them
 * back for verify and export.
 *
 * A segment runs from the first live record to a signed checkpoint whose record is older than
 * `olderThan`. Its records are checked (links, hashes, checkpoints) before they move. The file is
 * written under a temporary name, flushed to disk and renamed; only then, in one transaction, the
 * segment's row is inserted, its records deleted and the `audit.archive` record appended. A process
 * killed at any point leaves either the records in the database (and perhaps a file that the next
 * run writes again, byte for byte) or the committed segment: no record is lost, none is doubled.
 */
export class AuditArchive {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly db: Knex,
    private readonly options: {
      config: AuditArchiveConfig;
      trail: AuditTrail;
      checkpoints: CheckpointStore;
      trusted?: TrustedKeys;
      logger: LoggerService;
      /** Signs the head before an archival, so recent-enough records have a checkpoint to end at. */
      checkpointNow?: () => Promise<unknown>;
    },
  ) {}

  get directory(): string {
    return this.options.config.directory;
  }

  start(): void {
    const run = () => {
      if (this.running) return;
      this.running = this.archiveDue()
        .catch(error =>
          this.options.logger.error(
            `Audit archival failed: ${
              (error as Error).message
            }; the records stay in the database and the next run tries again`,
          ),
        )
        .finally(() => {
          this.running = undefined;
        });
    };
    run();
    this.timer = setInterval(run, this.options.config.intervalMs);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Archives every segment that is due; resolves with what moved. */
  async archiveDue(now = Date.now()): Promise<AuditSegment[]> {
    const done: AuditSegment[] = [];
    await this.options.checkpointNow?.();
    for (;;) {
      const segment = await this.archiveOne(now);
      if (!segment) return done;
      done.push(segment);
    }
  }

  /** The path of an archived segment's file. */
  pathOf(segment: AuditSegment): string {
    return path.join(this.directory, segment.file);
  }

  private async archiveOne(now: number): Promise<AuditSegment | undefined> {
    const { config, logger } = this.options;
    const first = await this.db(RECORDS).min({ seq: 'seq' }).first();
    if (first?.seq === null || first?.seq === undefined) return undefined;
    const fromSeq = Number(first.seq);
    const cutoff = new Date(now - config.olderThanMs).toISOString();
    const end = await this.segmentEnd(fromSeq, cutoff);
    if (!end) return undefined;

    const previous = await this.db(SEGMENTS).orderBy('to_seq', 'desc').first();
    const start = previous
      ? { seq: Number(previous.to_seq), hash: previous.last_hash as string }
      : { seq: 0, hash: AUDIT_GENESIS_HASH };
    if (start.seq + 1 !== fromSeq) {
      throw new Error(
        `the live audit records start at ${fromSeq}, but the archive ends at ${start.seq}`,
      );
    }
    const checkpoints = await this.options.checkpoints.list({
      from: fromSeq,
      to: end.seq,
    });
    const records: AuditRow[] = await this.db(RECORDS)
      .whereBetween('seq', [fromSeq, end.seq])
      .orderBy('seq', 'asc');
    const verifier = new ChainVerifier({
      trusted: this.options.trusted,
      start,
    });
    verifier.addCheckpoints(checkpoints);
    const lines: string[] = [];
    let next = 0;
    for (const row of records) {
      const record = rowToRecord(row);
      const { hash, prevHash, ...fields } = record;
      if (
        !verifier.push({
          fields,
          prevHash,
          hash,
          storedCanonical: row.canonical,
        })
      ) {
        break;
      }
      lines.push(JSON.stringify(record));
      while (checkpoints[next]?.seq === record.seq) {
        lines.push(JSON.stringify({ checkpoint: checkpoints[next] }));
        next += 1;
      }
    }
    verifier.finish();
    if (verifier.isBroken || verifier.lastSeq !== end.seq) {
      throw new Error(
        `records ${fromSeq}–${
          end.seq
        } were not archived because they do not verify: ${
          verifier.result().reason ?? 'records are missing'
        }`,
      );
    }

    const file = segmentFileName(fromSeq, end.seq);
    const sha256 = await this.writeFile(file, lines);
    logger.info(
      `Audit archive: wrote records ${fromSeq}–${end.seq} to ${file}`,
    );
    const segment: AuditSegment = {
      fromSeq,
      toSeq: end.seq,
      file,
      sha256,
      lastHash: verifier.lastHash,
      archivedAt: new Date().toISOString(),
    };
    const record = await this.db.transaction(async trx => {
      logger.debug(
        `Audit archive: moving records ${fromSeq}–${end.seq} out of the database`,
      );
      await trx(SEGMENTS).insert({
        from_seq: segment.fromSeq,
        to_seq: segment.toSeq,
        file: segment.file,
        sha256: segment.sha256,
        last_hash: segment.lastHash,
        archived_at: segment.archivedAt,
      });
      const deleted = await trx(RECORDS)
        .whereBetween('seq', [fromSeq, end.seq])
        .delete();
      logger.debug(`Audit archive: deleted ${deleted} records, committing`);
      if (deleted !== end.seq - fromSeq + 1) {
        throw new Error(
          `expected to move ${end.seq - fromSeq + 1} records, found ${deleted}`,
        );
      }
      return this.options.trail.appendWithin(trx, {
        actor: 'plugin:gekko',
        action: 'audit.archive',
        outcome: 'success',
        details: {
          fromSeq,
          toSeq: end.seq,
          records: deleted,
          file,
          sha256,
          checkpoint: { seq: end.seq, time: end.time },
        },
      });
    });
    this.options.trail.forward(record);
    logger.info(
      `Audit archive: moved records ${fromSeq}–${end.seq} out of the database (record ${record.seq})`,
    );
    return segment;
  }

  /**
   * The checkpoint a segment starting at `fromSeq` ends at: the last one within
   * `maxRecordsPerFile` whose record is older than `cutoff`, else the first such one after.
   */
  private async segmentEnd(
    fromSeq: number,
    cutoff: string,
  ): Promise<AuditCheckpoint | undefined> {
    const due = () =>
      this.db('gekko_audit_checkpoints as c')
        .join(`${RECORDS} as r`, 'r.seq', 'c.seq')
        .where('c.seq', '>=', fromSeq)
        .andWhere('r.time', '<', cutoff)
        .select('c.seq', 'c.hash', 'c.time', 'c.key_id', 'c.signature');
    const row =
      (await due()
        .andWhere('c.seq', '<', fromSeq + this.options.config.maxRecordsPerFile)
        .orderBy('c.seq', 'desc')
        .first()) ?? (await due().orderBy('c.seq', 'asc').first());
    return row
      ? {
          seq: Number(row.seq),
          hash: row.hash,
          time: row.time,
          keyId: row.key_id,
          signature: row.signature,
        }
      : undefined;
  }

  /** Writes the file durably (temporary name, fsync, rename, fsync of the folder); its SHA-256. */
  private async writeFile(file: string, lines: string[]): Promise<string> {
    const dir = this.directory;
    await fs.promises.mkdir(dir, { recursive: true });
    const final = path.join(dir, file);
    const temporary = `${final}.${process.pid}.tmp`;
    const hash = createHash('sha256');
    const out = fs.createWriteStream(temporary);
    this.options.logger.debug(`Audit archive: writing ${temporary}`);
    await pipeline(
      Readable.from(lines.map(l => `${l}\n`)),
      // A fixed level and no file name or time in the header: the same records give the same bytes.
      createGzip({ level: 6 }),
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      }),
      out,
    );
    const handle = await fs.promises.open(temporary, 'r+');
    await handle.sync();
    await handle.close();
    await fs.promises.rename(temporary, final);
    const folder = await fs.promises.open(dir, 'r');
    await folder.sync().catch(() => {}); // not every file system syncs a folder
    await folder.close();
    return hash.digest('hex');
  }
}
