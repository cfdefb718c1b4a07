import { LoggerService } from '@backstage/backend-plugin-api';
import { AuditCheckpoint } from '@gekko/plugin-gekko-common';
import {
  connectNats,
  natsAuditWitnessNames,
  NatsLinkOptions,
} from '@gekko/worker';
import {
  jetstream,
  JetStreamClient,
  jetstreamManager,
  JetStreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/**
 * Keeps copies of the signed checkpoints outside the database, so that deleting the newest
 * checkpoints together with a rewrite of the records is caught: verify checks that the chain still
 * passes through the newest checkpoint the witness holds.
 */
export interface AuditWitness {
  /** For the verify answer and logs, e.g. `NATS JetStream stream GEKKO_AUDIT_CHECKPOINTS`. */
  readonly name: string;
  publish(checkpoint: AuditCheckpoint): Promise<void>;
  /** The newest checkpoint it holds; undefined when it holds none. */
  latest(): Promise<AuditCheckpoint | undefined>;
  close(): Promise<void>;
}

/** How many checkpoints the stream keeps (about 200 bytes each); the newest is what verify reads. */
const KEPT = 100_000;

/**
 * The witness on a NATS JetStream stream (file storage), on the NATS server the remote workers use
 * (`gekko.nats`). The backend connects on first use and again after a failure; an unreachable
 * witness never stops an append or a checkpoint, it is only reported.
 */
export class NatsAuditWitness implements AuditWitness {
  readonly name: string;
  private readonly subject: string;
  private readonly stream: string;
  private link:
    | Promise<{
        nc: NatsConnection;
        js: JetStreamClient;
        jsm: JetStreamManager;
      }>
    | undefined;

  constructor(
    private readonly options: {
      link: NatsLinkOptions;
      subjectPrefix?: string;
      logger: LoggerService;
      /** How long to wait for the server. */
      timeoutMs?: number;
    },
  ) {
    ({ subject: this.subject, stream: this.stream } = natsAuditWitnessNames(
      options.subjectPrefix,
    ));
    this.name = `NATS JetStream stream ${this.stream}`;
  }

  private connect() {
    this.link ??= (async () => {
      const nc = await connectNats({
        ...this.options.link,
        name: 'gekko audit witness',
      });
      try {
        const timeout = this.options.timeoutMs ?? 5000;
        const jsm = await jetstreamManager(nc, { timeout });
        try {
          await jsm.streams.info(this.stream);
        } catch {
          await jsm.streams.add({
            name: this.stream,
            subjects: [this.subject],
            max_msgs_per_subject: KEPT,
            description:
              'Signed checkpoints of the Gekko audit trail, kept outside its database',
          });
          this.options.logger.info(
            `Created ${this.name} for the audit checkpoints`,
          );
        }
        return { nc, js: jetstream(nc, { timeout }), jsm };
      } catch (error) {
        await nc.close().catch(() => {});
        throw error;
      }
    })();
    // A failed connection is tried again on the next use.
    this.link.catch(() => {
      this.link = undefined;
    });
    return this.link;
  }

  async publish(checkpoint: AuditCheckpoint): Promise<void> {
    const { js } = await this.connect();
    await js.publish(this.subject, JSON.stringify(checkpoint), {
      // The same checkpoint published twice (two instances, a retry) is stored once.
      msgID: `${checkpoint.seq}-${checkpoint.hash}`,
    });
  }

  async latest(): Promise<AuditCheckpoint | undefined> {
    const { jsm } = await this.connect();
    const message = await jsm.streams.getMessage(this.stream, {
      last_by_subj: this.subject,
    });
    return message ? (message.json() as AuditCheckpoint) : undefined;
  }

  async close(): Promise<void> {
    const link = this.link;
    this.link = undefined;
    const nc = await link?.then(l => l.nc).catch(() => undefined);
    await nc?.drain().catch(() => {});
  }
}
