import { LoggerService } from '@backstage/backend-plugin-api';
import { AuditCheckpoint } from '@gekko/plugin-gekko-common';
import { Knex } from 'knex';
import { ChainReader } from './chainReader';
import { ChainVerifier } from './ChainVerifier';
import type { AuditWitness } from './AuditWitness';
import type { AuditSigningKey } from './signing';

const CHECKPOINTS = 'gekko_audit_checkpoints';
const HEAD = 'gekko_audit_head';

interface CheckpointRow {
  seq: number | string;
  hash: string;
  time: string;
  key_id: string;
  signature: string;
}

function fromRow(row: CheckpointRow): AuditCheckpoint {
  return {
    seq: Number(row.seq),
    hash: row.hash,
    time: row.time,
    keyId: row.key_id,
    signature: row.signature,
  };
}

/** The stored checkpoints, for verify, export and archival (whether or not this backend signs). */
export class CheckpointStore {
  constructor(private readonly db: Knex) {}

  async list(options: { from?: number; to?: number } = {}) {
    let q = this.db<CheckpointRow>(CHECKPOINTS);
    if (options.from !== undefined) q = q.where('seq', '>=', options.from);
    if (options.to !== undefined) q = q.where('seq', '<=', options.to);
    return (await q.orderBy('seq', 'asc')).map(fromRow);
  }

  async latest(): Promise<AuditCheckpoint | undefined> {
    const row = await this.db<CheckpointRow>(CHECKPOINTS)
      .orderBy('seq', 'desc')
      .first();
    return row && fromRow(row);
  }

  async insert(checkpoint: AuditCheckpoint): Promise<void> {
    await this.db(CHECKPOINTS)
      .insert({
        seq: checkpoint.seq,
        hash: checkpoint.hash,
        time: checkpoint.time,
        key_id: checkpoint.keyId,
        signature: checkpoint.signature,
      })
      // Two instances may sign the same head: the first one's stays.
      .onConflict('seq')
      .ignore();
  }
}

/** When a checkpoint is due. */
export interface CheckpointPolicy {
  every: number;
  intervalMs: number;
}

/**
 * Signs the chain's head every `every` records or `intervalMs`, whichever comes first, and on
 * demand (before an export or an archival).
 *
 * It never signs blindly: before each signature it walks the records since its last checkpoint
 * and checks they link up from the hash that checkpoint signed, so a chain rewritten under a
 * running backend is refused (and logged as an error) rather than vouched for. The checkpoint it
 * signed last is also kept in memory, so deleting checkpoints from the table under it is noticed.
 */
export class AuditCheckpointer {
  private readonly reader: ChainReader;
  private unsigned = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<AuditCheckpoint | undefined> | undefined;
  private lastSigned: AuditCheckpoint | undefined;
  private refusal: string | undefined;

  constructor(
    private readonly db: Knex,
    readonly store: CheckpointStore,
    private readonly key: AuditSigningKey,
    private readonly policy: CheckpointPolicy,
    private readonly logger: LoggerService,
    /** Where each checkpoint is also published, outside the database. */
    private readonly witness?: AuditWitness,
  ) {
    this.reader = new ChainReader(db);
  }

  private witnessError: string | undefined;

  /** Signs what is unsigned now, then on the policy's schedule. */
  start(): void {
    void this.checkpoint().catch(() => {});
    this.timer = setInterval(
      () => void this.checkpoint().catch(() => {}),
      this.policy.intervalMs,
    );
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }

  /** Counts committed records; a checkpoint is signed once `every` of them are unsigned. */
  recordsCommitted(count: number): void {
    this.unsigned += count;
    if (this.unsigned >= this.policy.every)
      void this.checkpoint().catch(() => {});
  }

  /**
   * Signs the current head (when it moved since the last checkpoint) and resolves with the newest
   * checkpoint. One run at a time; a call during a run waits for it and runs once more.
   */
  checkpoint(): Promise<AuditCheckpoint | undefined> {
    if (this.running) {
      // A run already under way may have read the head before the caller's records: run again.
      const after = () => this.checkpoint();
      return this.running.then(after, after);
    }
    this.running = this.sign().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sign(): Promise<AuditCheckpoint | undefined> {
    const latest = await this.store.latest();
    if (this.lastSigned && (!latest || latest.seq < this.lastSigned.seq)) {
      return this.refuse(
        `the checkpoint this backend signed at record ${this.lastSigned.seq} is gone from ${CHECKPOINTS}: someone deleted checkpoints; run GET /api/gekko/audit/verify and compare with an export`,
      );
    }
    const witnessed = await this.witness?.latest().catch(() => undefined);
    if (witnessed && (!latest || latest.seq < witnessed.seq)) {
      return this.refuse(
        `${this.witness!.name} holds a checkpoint of record ${
          witnessed.seq
        }, newer than any in ${CHECKPOINTS}: someone deleted checkpoints; run GET /api/gekko/audit/verify`,
      );
    }
    const head = await this.db(HEAD).where({ id: 1 }).first();
    const headSeq = Number(head?.seq ?? 0);
    if (headSeq === 0 || (latest && latest.seq >= headSeq)) {
      this.unsigned = 0;
      return latest;
    }
    const start = latest
      ? { seq: latest.seq, hash: latest.hash }
      : await this.archivedEnd();
    const verifier = new ChainVerifier({ start });
    for await (const page of this.reader.pages(start.seq, headSeq)) {
      if (!verifier.pushRows(page)) break;
    }
    if (!verifier.isBroken && verifier.lastSeq < headSeq) {
      verifier.breakAt(
        verifier.lastSeq + 1,
        `is missing: the chain ends at record ${verifier.lastSeq} but its head says ${headSeq}`,
      );
    }
    if (verifier.isBroken) {
      return this.refuse(
        `the records after checkpoint ${start.seq} do not link up from it (${
          verifier.result().reason
        }); run GET /api/gekko/audit/verify`,
      );
    }
    const checkpoint = this.key.sign({
      seq: verifier.lastSeq,
      hash: verifier.lastHash,
      time: new Date().toISOString(),
    });
    await this.store.insert(checkpoint);
    if (this.witness) await this.publish(checkpoint);
    this.unsigned = 0;
    this.refusal = undefined;
    this.lastSigned = checkpoint;
    return checkpoint;
  }

  /** Publishes to the witness; a failure is logged (once until it works again), never thrown. */
  private async publish(checkpoint: AuditCheckpoint) {
    try {
      await this.witness!.publish(checkpoint);
      if (this.witnessError) {
        this.logger.info(`${this.witness!.name} receives checkpoints again`);
      }
      this.witnessError = undefined;
    } catch (error) {
      const message = (error as Error).message;
      if (this.witnessError !== message) {
        this.logger.warn(
          `Could not publish audit checkpoint ${checkpoint.seq} to ${
            this.witness!.name
          }: ${message}; the checkpoint is in the database, and later ones will be published once it answers`,
        );
      }
      this.witnessError = message;
    }
  }

  /** Where the live chain starts: after the last archived segment, or at the genesis. */
  private async archivedEnd() {
    const segment = await this.db('gekko_audit_segments')
      .orderBy('to_seq', 'desc')
      .first();
    return segment
      ? { seq: Number(segment.to_seq), hash: segment.last_hash as string }
      : { seq: 0, hash: '0'.repeat(64) };
  }

  private refuse(reason: string): undefined {
    if (this.refusal !== reason) {
      this.logger.error(`Refusing to sign an audit checkpoint: ${reason}`);
      this.refusal = reason;
    }
    return undefined;
  }
}
