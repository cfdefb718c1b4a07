import {
  AUDIT_GENESIS_HASH,
  AuditCheckpoint,
  AuditCheckpointsSummary,
  AuditRecordFields,
  AuditVerifyResult,
  canonicalAuditRecord,
} from '@gekko/plugin-gekko-common';
import crypto from 'node:crypto';
import type { TrustedKeys } from './signing';

/** Node's one-shot hash (Node 20.12+), about twice as fast as createHash for short inputs. */
const oneShot = (crypto as { hash?: (a: string, d: string) => string }).hash;

/** SHA-256 hex of `prevHash ‖ canonical`: the link of the chain. */
export function chainHash(prevHash: string, canonical: string): string {
  // prevHash is hex (ASCII), so hashing the concatenation hashes the same bytes.
  return oneShot
    ? oneShot('sha256', prevHash + canonical)
    : crypto
        .createHash('sha256')
        .update(prevHash)
        .update(canonical)
        .digest('hex');
}

/** Where a verifier starts: after a record already known good (an archived segment's end). */
export interface ChainStart {
  seq: number;
  hash: string;
}

/** A record as the verifier walks it: its fields, its links, and (from the database) the stored canonical JSON. */
export interface ChainLink {
  fields: AuditRecordFields;
  prevHash: string;
  hash: string;
  /** The canonical JSON stored beside the fields, when there is one. */
  storedCanonical?: string;
}

/**
 * Walks a chain in sequence order and stops at the first broken link. Used both on the database
 * (`verify`) and offline on a JSONL export, so both judge a chain the same way.
 */
export class ChainVerifier {
  private checked = 0;
  private headHash: string | null = null;
  private prevHash = AUDIT_GENESIS_HASH;
  private expectedSeq = 1;
  private broken: { seq: number; reason: string; segment: string } | undefined;
  /** Name of the part of the chain being fed: `live`, or an archive file's name. */
  segment = 'live';
  private checkpoints: AuditCheckpoint[] = [];
  private nextCheckpoint = 0;
  private checkpointsChecked = 0;
  private lastSigned: AuditCheckpoint | undefined;

  /**
   * With `trusted` keys, every checkpoint given to {@link ChainVerifier.addCheckpoints} must carry a
   * good signature and be passed through by the chain. `start` begins after a known record.
   */
  constructor(
    private readonly options: {
      trusted?: TrustedKeys;
      start?: ChainStart;
    } = {},
  ) {
    if (options.start) {
      this.prevHash = options.start.hash;
      this.expectedSeq = options.start.seq + 1;
      this.headHash = options.start.seq > 0 ? options.start.hash : null;
    }
  }

  /** Checkpoints the chain must pass through; any order, duplicates of the same seq must agree. */
  addCheckpoints(checkpoints: Iterable<AuditCheckpoint>): void {
    const bySeq = new Map(this.checkpoints.map(c => [c.seq, c]));
    for (const c of checkpoints) {
      const other = bySeq.get(c.seq);
      if (other && (other.hash !== c.hash || other.signature !== c.signature)) {
        this.breakAt(
          c.seq,
          `two different checkpoints claim record ${c.seq}: the checkpoints were altered`,
        );
      }
      bySeq.set(c.seq, c);
    }
    this.checkpoints = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    this.nextCheckpoint = this.checkpoints.findIndex(
      c => c.seq >= this.expectedSeq,
    );
    if (this.nextCheckpoint < 0) this.nextCheckpoint = this.checkpoints.length;
  }

  /** Feeds the next record; returns false once the chain is broken (stop feeding). */
  push(link: ChainLink): boolean {
    let canonical: string;
    try {
      canonical = canonicalAuditRecord(link.fields);
    } catch (e) {
      return this.fail(
        link.fields.seq,
        `its fields cannot be read: ${(e as Error).message}`,
      );
    }
    return this.pushCanonical({
      seq: link.fields.seq,
      canonical,
      storedCanonical: link.storedCanonical,
      prevHash: link.prevHash,
      hash: link.hash,
    });
  }

  /** {@link ChainVerifier.push} for a record whose canonical JSON is already rebuilt. */
  pushCanonical(link: {
    seq: number;
    canonical: string;
    storedCanonical?: string;
    prevHash: string;
    hash: string;
  }): boolean {
    if (this.broken) return false;
    const { seq, canonical } = link;
    const fail = (reason: string, at = seq) => this.fail(at, reason);
    if (seq !== this.expectedSeq) {
      return seq > this.expectedSeq
        ? fail(
            `is missing: the chain jumps from record ${this.lastSeq} to ${seq}`,
            this.expectedSeq,
          )
        : fail(`appears after record ${this.lastSeq}, out of order`);
    }
    if (
      link.storedCanonical !== undefined &&
      link.storedCanonical !== canonical
    ) {
      return fail('its fields differ from the canonical JSON that was hashed');
    }
    if (link.prevHash !== this.prevHash) {
      return fail(
        seq === 1
          ? 'the first record does not start from the genesis hash'
          : `its previous hash does not match the hash of record ${seq - 1}`,
      );
    }
    if (chainHash(link.prevHash, canonical) !== link.hash) {
      return fail('its hash does not match its content');
    }
    this.checked += 1;
    this.prevHash = link.hash;
    this.headHash = link.hash;
    this.expectedSeq = seq + 1;
    const checkpoint = this.checkpoints[this.nextCheckpoint];
    if (checkpoint?.seq === seq)
      return this.passCheckpoint(checkpoint, link.hash);
    return true;
  }

  private passCheckpoint(checkpoint: AuditCheckpoint, hash: string): boolean {
    const { trusted } = this.options;
    const since = this.lastSigned
      ? `after the last checkpoint that matches (record ${this.lastSigned.seq}, signed ${this.lastSigned.time})`
      : 'from the first record on, as no earlier checkpoint matches';
    if (trusted) {
      const bad = trusted.check(checkpoint);
      if (bad) {
        return this.fail(
          checkpoint.seq,
          `the checkpoint at this record cannot be trusted: ${bad}`,
        );
      }
    }
    if (checkpoint.hash !== hash) {
      return this.fail(
        (this.lastSigned?.seq ?? 0) + 1,
        `the chain was rewritten: record ${checkpoint.seq} no longer has the hash signed in its checkpoint of ${checkpoint.time}, so the records ${since} cannot be trusted`,
      );
    }
    this.checkpointsChecked += 1;
    this.lastSigned = checkpoint;
    this.nextCheckpoint += 1;
    return true;
  }

  /**
   * Feeds a page of rows as the database reader returns them (`[seq, canonical, prevHash, hash,
   * fieldsMatch]`); the same checks as {@link ChainVerifier.pushCanonical}, in a loop without
   * allocations, since verify spends its time here. Returns false once the chain is broken.
   */
  pushRows(
    rows: ReadonlyArray<[number, string, string, string, boolean]>,
  ): boolean {
    if (this.broken) return false;
    let prevHash = this.prevHash;
    let expected = this.expectedSeq;
    let advanced = false;
    let checkpointSeq = this.checkpoints[this.nextCheckpoint]?.seq ?? -1;
    const sync = () => {
      this.prevHash = prevHash;
      this.expectedSeq = expected;
      if (advanced) this.headHash = prevHash;
      advanced = false;
    };
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const seq = row[0];
      if (
        seq !== expected ||
        !row[4] ||
        row[2] !== prevHash ||
        seq === checkpointSeq
      ) {
        // Something to look at more closely: the general path names it.
        sync();
        if (!row[4] && seq === expected && row[2] === prevHash) {
          return this.fail(
            seq,
            'its fields differ from the canonical JSON that was hashed',
          );
        }
        const link = { seq, canonical: row[1], prevHash: row[2], hash: row[3] };
        if (!this.pushCanonical(link)) return false;
        prevHash = this.prevHash;
        expected = this.expectedSeq;
        checkpointSeq = this.checkpoints[this.nextCheckpoint]?.seq ?? -1;
        continue;
      }
      if (chainHash(prevHash, row[1]) !== row[3]) {
        sync();
        return this.fail(seq, 'its hash does not match its content');
      }
      prevHash = row[3];
      expected = seq + 1;
      advanced = true;
      this.checked += 1;
    }
    sync();
    return true;
  }

  /** A checkpoint read on the line right after its record (in an export or an archive file). */
  checkpointAtHead(checkpoint: AuditCheckpoint): boolean {
    if (this.broken) return false;
    if (checkpoint.seq !== this.lastSeq) {
      return this.fail(
        checkpoint.seq,
        `a checkpoint of this record follows record ${this.lastSeq} instead of it`,
      );
    }
    return this.passCheckpoint(checkpoint, this.prevHash);
  }

  /**
   * Ends the walk: checkpoints past the last record mean records were cut off the end. Call once
   * every record was fed.
   */
  finish(): void {
    if (this.broken) return;
    const beyond = this.checkpoints[this.nextCheckpoint];
    if (beyond) {
      this.breakAt(
        this.expectedSeq,
        `is missing: a checkpoint signed record ${beyond.seq}, but the chain ends at record ${this.lastSeq}`,
      );
    }
  }

  /** The last checkpoint the chain passed through, when checkpoints were given. */
  get lastCheckpoint(): AuditCheckpoint | undefined {
    return this.lastSigned;
  }

  /** Records after the last checkpoint passed (all of them when none was). */
  get unsignedRecords(): number {
    return this.lastSeq - (this.lastSigned?.seq ?? 0);
  }

  /** What the walk found of the checkpoints, for the verify answer. */
  checkpointsSummary(): AuditCheckpointsSummary {
    const last = this.lastSigned;
    return {
      enabled: Boolean(this.options.trusted),
      checked: this.checkpointsChecked,
      lastSigned: last
        ? { seq: last.seq, time: last.time, keyId: last.keyId }
        : null,
      unsignedRecords: this.unsignedRecords,
    };
  }

  /** Hash of the last good record (the start's hash, or the genesis hash, before any). */
  get lastHash(): string {
    return this.prevHash;
  }

  get isBroken(): boolean {
    return this.broken !== undefined;
  }

  private fail(seq: number, reason: string): false {
    if (!this.broken) this.broken = { seq, reason, segment: this.segment };
    return false;
  }

  /** Marks the chain broken for a reason found outside the records (e.g. the head row). */
  breakAt(seq: number, reason: string): void {
    if (!this.broken) this.broken = { seq, reason, segment: this.segment };
  }

  /** Sequence number of the last good record (0 when none). */
  get lastSeq(): number {
    return this.expectedSeq - 1;
  }

  result(): AuditVerifyResult {
    return {
      valid: !this.broken,
      checked: this.checked,
      headHash: this.headHash,
      firstBrokenSeq: this.broken?.seq ?? null,
      reason: this.broken
        ? `record ${this.broken.seq}: ${this.broken.reason}`
        : null,
      ...(this.broken ? { segment: this.broken.segment } : {}),
    };
  }
}
