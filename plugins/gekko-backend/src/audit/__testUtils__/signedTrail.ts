import { mockServices } from '@backstage/backend-test-utils';
import { LoggerService } from '@backstage/backend-plugin-api';
import { canonicalAuditRecordWithDetails } from '@gekko/plugin-gekko-common';
import { Knex } from 'knex';
import { generateKeyPairSync } from 'node:crypto';
import { AuditArchive, AuditArchiveConfig } from '../AuditArchive';
import {
  AuditCheckpointer,
  CheckpointPolicy,
  CheckpointStore,
} from '../AuditCheckpoints';
import { AuditEntry, AuditTrail } from '../AuditTrail';
import { chainHash } from '../ChainVerifier';
import { AuditSigningKey, loadSigningKey } from '../signing';

/** A fresh Ed25519 key pair as PEM text. */
export function newKeyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

export function signingKey(
  privateKeyPem: string,
  trustedPublicKeys: string[] = [],
): AuditSigningKey {
  return loadSigningKey(
    {
      privateKeyPem,
      generateIfMissing: false,
      trustedPublicKeys,
      checkpointEvery: 10,
      checkpointIntervalMs: 60_000,
    },
    () => {},
  );
}

export function entry(i: number, extra: Partial<AuditEntry> = {}): AuditEntry {
  return {
    actor: `user:default/trader-${i % 3}`,
    action: 'pool.update',
    target: `resource:default/pool-${i % 4}`,
    outcome: 'success',
    requestId: `req-${i}`,
    details: { i, nested: { list: [i, 'x'] } },
    ...extra,
  };
}

/** A trail that signs checkpoints (every 10 records, by the policy), as the audit capability wires it. */
export function signedTrail(
  db: Knex,
  options: {
    key?: AuditSigningKey;
    archive?: AuditArchiveConfig;
    logger?: LoggerService;
    policy?: CheckpointPolicy;
  } = {},
) {
  const key = options.key ?? signingKey(newKeyPair().privateKeyPem);
  const logger = options.logger ?? mockServices.logger.mock();
  const policy = options.policy ?? { every: 10, intervalMs: 60_000 };
  const trail = new AuditTrail(db, {
    logger,
    trusted: key.trusted,
    checkpointPolicy: policy,
    archiveDirectory: options.archive?.directory,
  });
  const store = new CheckpointStore(db);
  const checkpointer = new AuditCheckpointer(db, store, key, policy, logger);
  const archive =
    options.archive &&
    new AuditArchive(db, {
      config: options.archive,
      trail,
      checkpoints: store,
      trusted: key.trusted,
      logger,
      checkpointNow: () => checkpointer.checkpoint(),
    });
  return { key, trail, store, checkpointer, archive, logger };
}

/**
 * A chain of `checkpoints` tens of records, each ten signed by a checkpoint (at 10, 20, …), and
 * `unsigned` records after the last one.
 */
export async function chainWithCheckpoints<
  T extends Pick<ReturnType<typeof signedTrail>, 'trail' | 'checkpointer'>,
>(setup: T, checkpoints: number, unsigned: number): Promise<T> {
  for (let i = 0; i < checkpoints; i++) {
    await appendMany(setup.trail, 10, i * 10 + 1);
    await setup.checkpointer.checkpoint();
  }
  await appendMany(setup.trail, unsigned, checkpoints * 10 + 1);
  return setup;
}

/** Appends `count` records, one at a time, numbered from `from`. */
export async function appendMany(trail: AuditTrail, count: number, from = 1) {
  for (let i = from; i < from + count; i++) await trail.append(entry(i));
}

/**
 * What an administrator with write access to the database, but not the signing key, can do: rewrite
 * every record from `fromSeq` on (a different actor), with canonical JSON and hashes recomputed so
 * that the chain links up, and the head row to match.
 */
export async function rewriteTail(db: Knex, fromSeq: number) {
  const rows = await db('gekko_audit_records')
    .where('seq', '>=', fromSeq)
    .orderBy('seq');
  const before = await db('gekko_audit_records')
    .where('seq', fromSeq - 1)
    .first();
  let prevHash: string = before?.hash ?? '0'.repeat(64);
  for (const row of rows) {
    const actor = 'user:default/mallory';
    const canonical = canonicalAuditRecordWithDetails(
      {
        seq: Number(row.seq),
        time: row.time,
        actor,
        action: row.action,
        target: row.target,
        outcome: row.outcome,
        requestId: row.request_id,
      },
      row.details,
    );
    const hash = chainHash(prevHash, canonical);
    await db('gekko_audit_records')
      .where({ seq: row.seq })
      .update({ actor, canonical, prev_hash: prevHash, hash });
    prevHash = hash;
  }
  await db('gekko_audit_head').where({ id: 1 }).update({ hash: prevHash });
}
