import {
  AuditorService,
  HttpAuthService,
  LoggerService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { Knex } from 'knex';
import type {
  GekkoAuditConfig,
  GekkoNatsConfig,
} from '../config/readGekkoConfig';
import { AccessGuard } from '../service/AccessGuard';
import { GekkoCapability } from '../service/createRouter';
import { AuditArchive } from './AuditArchive';
import { AuditCheckpointer, CheckpointStore } from './AuditCheckpoints';
import { AuditedChanges } from './AuditedChanges';
import { AuditTrail } from './AuditTrail';
import { NatsAuditWitness } from './AuditWitness';
import { createAuditRouter } from './router';
import { loadSigningKey } from './signing';

/**
 * The audit trail, the one way to make an audited change, the access guard (whose denials the trail
 * records), the checkpoint signer and the archival of old records (when configured), and the
 * trail's routes.
 */
export function createAuditCapability(options: {
  db: Knex;
  logger: LoggerService;
  auditor: AuditorService;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  config?: GekkoAuditConfig;
  /** `gekko.nats`: where the checkpoints' witness stream lives, when set. */
  nats?: GekkoNatsConfig;
}) {
  const { db, logger, auditor, config = {}, nats } = options;
  const key =
    config.signing &&
    loadSigningKey(config.signing, (file, publicKeyPem) =>
      logger.warn(
        `Generated an audit signing key at ${file} (public key beside it, .pub.pem). It suits a portal on one machine only: ` +
          `production must supply its own key (gekko.audit.signing.privateKeyFile or GEKKO_AUDIT_SIGNING_KEY) and publish its public key. ` +
          `Public key: ${publicKeyPem.replace(/\n/g, ' ').trim()}`,
      ),
    );
  if (!key) {
    logger.warn(
      'Audit checkpoints are off: without gekko.audit.signing, someone with write access to the database can rewrite the audit chain consistently and verify cannot tell (see the README, "Audit trail")',
    );
  } else {
    logger.info(`Audit checkpoints are signed with key ${key.keyId}`);
  }
  const policy = key && {
    every: config.signing!.checkpointEvery,
    intervalMs: config.signing!.checkpointIntervalMs,
  };
  const witness =
    key && nats && config.witness !== false
      ? new NatsAuditWitness({
          link: { servers: nats.servers, auth: nats.auth, tls: nats.tls },
          subjectPrefix: nats.subjectPrefix,
          logger,
        })
      : undefined;
  if (witness) {
    logger.info(`Audit checkpoints are also published to ${witness.name}`);
  }
  const trail = new AuditTrail(db, {
    logger,
    auditor,
    trusted: key?.trusted,
    checkpointPolicy: policy,
    archiveDirectory: config.archive?.directory,
    witness,
  });
  const store = new CheckpointStore(db);
  const checkpointer =
    key &&
    policy &&
    new AuditCheckpointer(db, store, key, policy, logger, witness);
  if (checkpointer) {
    trail.onCommitted(() => checkpointer.recordsCommitted(1));
    checkpointer.start();
  }
  const archive =
    config.archive &&
    new AuditArchive(db, {
      config: config.archive,
      trail,
      checkpoints: store,
      trusted: key?.trusted,
      logger,
      checkpointNow: checkpointer ? () => checkpointer.checkpoint() : undefined,
    });
  archive?.start();
  const guard = new AccessGuard(options.httpAuth, options.permissions, trail);
  const capability: GekkoCapability = {
    router: createAuditRouter({ audit: trail, guard, checkpointer }),
    async stop() {
      await archive?.stop();
      await checkpointer?.stop();
      await witness?.close();
    },
  };
  return {
    trail,
    changes: new AuditedChanges(db, trail),
    guard,
    checkpointer,
    archive,
    publicKeyPem: key?.publicKeyPem,
    ...capability,
  };
}
