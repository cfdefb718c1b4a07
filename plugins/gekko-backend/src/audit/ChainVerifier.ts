import {
  AUDIT_GENESIS_HASH,
  AuditRecordFields,
  AuditVerifyResult,
  canonicalAuditRecord,
} from '@gekko/plugin-gekko-common';
import { createHash } from 'node:crypto';

/** SHA-256 hex of `prevHash ‖ canonical`: the link of the chain. */
export function chainHash(prevHash: string, canonical: string): string {
  return createHash('sha256').update(prevHash).update(canonical).digest('hex');
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
  private broken: { seq: number; reason: string } | undefined;

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
    return true;
  }

  private fail(seq: number, reason: string): false {
    this.broken = { seq, reason };
    return false;
  }

  /** Marks the chain broken for a reason found outside the records (e.g. the head row). */
  breakAt(seq: number, reason: string): void {
    if (!this.broken) this.broken = { seq, reason };
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
    };
  }
}
