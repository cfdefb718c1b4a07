import { Msg, MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import {
  HeartbeatMessage,
  WorkerFailure,
  WorkerIdentity,
  WorkerLinkEvents,
} from '../../protocol/types';
import { connectNats, NatsLinkOptions } from './connectNats';
import {
  NatsWorkerConnection,
  NatsWorkerConnectionOptions,
} from './NatsWorkerConnection';
import {
  artifactChunkBytes,
  INFER_BATCH,
  natsSubjects,
  NatsSubjects,
  poolAndIdOfSubject,
} from './subjects';
import { errorHeaders, parseHeartbeatMessage } from './wire';

/** Reads a model artifact by its hex SHA-256; undefined when this control plane has no such file. */
export type ArtifactReader = (
  sha256: string,
) => Promise<Uint8Array | undefined>;

/** Where the control plane reports what it ignores; Backstage's `LoggerService` fits. */
export interface NatsControlPlaneLogger {
  info(message: string): void;
  warn(message: string): void;
}

/**
 * A heartbeat refused because its body claims another pool or worker id than the subject it came
 * on. The NATS server's permissions decide who may publish on a subject (see `deploy/nats/`), so
 * the subject is the sender's proven identity and the body is only a claim.
 */
export interface NatsHeartbeatRefusal {
  subject: string;
  /** The pool and id of the subject: what the sender's NATS identity was allowed to publish as. */
  subjectPool: string;
  subjectId: string;
  /** What the body claims. */
  claimedPool: string;
  claimedId: string;
  reason: string;
  /**
   * Whether this refusal should be reported (logged, audited): the first from its subject, then at
   * most one per `refusalReportIntervalMs`. Every refusal is passed, for counting.
   */
  report: boolean;
  /** Refusals from this subject that were not reported since the last report. */
  unreported: number;
}

/** Options of {@link NatsControlPlane.connect}. */
export interface NatsControlPlaneOptions extends NatsLinkOptions {
  /** Defaults to `gekko`; workers must use the same. */
  subjectPrefix?: string;
  /** Usually the GPU manager. */
  events: WorkerLinkEvents;
  /** Serves `${prefix}.artifacts.get` when given, so workers without a local copy can load models. */
  readArtifact?: ArtifactReader;
  logger?: NatsControlPlaneLogger;
  /** See {@link NatsWorkerConnectionOptions.probeAfterMs}; 500 ms by default. */
  probeAfterMs?: NatsWorkerConnectionOptions['probeAfterMs'];
  /** A worker silent this long is forgotten here (the GPU manager drops it far sooner); 5 min by default. */
  forgetAfterMs?: number;
  /** Called for every heartbeat refused for a pool or id other than its subject's (audit it when `report`). */
  onRefusal?: (refusal: NatsHeartbeatRefusal) => void;
  /** At most one refusal per subject is reported in this long; 60 s by default. */
  refusalReportIntervalMs?: number;
}

interface Known {
  connection: NatsWorkerConnection;
  lastSeenAt: number;
}

function respond(msg: Msg, payload: Uint8Array, h?: MsgHdrs) {
  try {
    msg.respond(payload, h ? { headers: h } : undefined);
  } catch {
    // the connection closed meanwhile; the worker's request times out
  }
}

/** Whether two identities are the same run of a worker (a restart with a fixed id is not). */
function sameRun(a: WorkerIdentity, b: WorkerIdentity): boolean {
  return (
    a.pool === b.pool &&
    a.host === b.host &&
    a.pid === b.pid &&
    a.startedAt === b.startedAt
  );
}

/** Artifacts recently read, so a large model fetched in many chunks is read once. */
class ArtifactCache {
  private readonly entries = new Map<
    string,
    { bytes: Promise<Uint8Array | undefined>; usedAt: number }
  >();

  constructor(
    private readonly read: ArtifactReader,
    private readonly ttlMs = 30_000,
    private readonly maxEntries = 4,
  ) {}

  get(sha256: string): Promise<Uint8Array | undefined> {
    const now = Date.now();
    for (const [key, entry] of this.entries) {
      if (now - entry.usedAt > this.ttlMs) this.entries.delete(key);
    }
    let entry = this.entries.get(sha256);
    if (!entry) {
      entry = { bytes: this.read(sha256), usedAt: now };
      // A failed read is not remembered.
      entry.bytes.catch(() => this.entries.delete(sha256));
      this.entries.set(sha256, entry);
      while (this.entries.size > this.maxEntries) {
        this.entries.delete(this.entries.keys().next().value!);
      }
    }
    entry.usedAt = now;
    return entry.bytes;
  }
}

/**
 * The control plane's side of the NATS transport: registers remote workers from their heartbeats
 * (one {@link NatsWorkerConnection} per worker run), reports their goodbyes, and serves model
 * artifacts to workers that have no local copy.
 */
export class NatsControlPlane {
  private readonly workers = new Map<string, Known>();
  private readonly warned = new Set<string>();
  /** Per refusing subject: when its last refusal was reported, and how many came since. */
  private readonly refusals = new Map<
    string,
    { reportedAt: number; unreported: number }
  >();
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    /** The underlying NATS connection. */
    readonly nc: NatsConnection,
    /** The subjects of this deployment. */
    readonly subjects: NatsSubjects,
    private readonly options: NatsControlPlaneOptions,
  ) {}

  /** Connects to NATS and starts listening for workers. Rejects when the first connection fails. */
  static async connect(
    options: NatsControlPlaneOptions,
  ): Promise<NatsControlPlane> {
    const subjects = natsSubjects(options.subjectPrefix);
    const nc = await connectNats({
      ...options,
      name: options.name ?? 'gekko control plane',
    });
    const plane = new NatsControlPlane(nc, subjects, options);
    plane.listen();
    // Make sure the server has the subscriptions before anyone relies on them.
    await nc.flush();
    return plane;
  }

  /** The link to a worker that has heartbeated here, by id. */
  connection(workerId: string): NatsWorkerConnection | undefined {
    return this.workers.get(workerId)?.connection;
  }

  /** Links to every worker known here. */
  connections(): NatsWorkerConnection[] {
    return [...this.workers.values()].map(k => k.connection);
  }

  /** Stops listening, fails requests still waiting with `WORKER_LOST`, and drains the connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.sweeper);
      const failure = new WorkerFailure(
        'WORKER_LOST',
        'The NATS control plane is closing',
      );
      for (const { connection } of this.workers.values()) {
        connection.failPending(failure);
        await connection.close();
      }
      this.workers.clear();
      if (!this.nc.isClosed()) {
        // A drain waits for the server; while it is unreachable, give up after 5 s and close.
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          this.nc.drain().catch(() => undefined),
          new Promise(resolve => {
            timer = setTimeout(resolve, 5_000);
          }),
        ]);
        clearTimeout(timer);
        if (!this.nc.isClosed()) await this.nc.close();
      }
    })();
    return this.closing;
  }

  private listen() {
    const { subjects, nc } = this;
    nc.subscribe(subjects.allHeartbeats, {
      callback: (err, msg) => {
        if (!err) this.onHeartbeat(msg);
      },
    });
    nc.subscribe(subjects.legacyHeartbeats, {
      callback: (err, msg) => {
        if (!err) this.onLegacyHeartbeat(msg);
      },
    });
    nc.subscribe(subjects.allByes, {
      callback: (err, msg) => {
        if (!err) this.onBye(msg);
      },
    });
    const read = this.options.readArtifact;
    if (read) {
      const cache = new ArtifactCache(read);
      // A queue group: with several backend replicas, one of them answers each chunk.
      nc.subscribe(subjects.artifacts, {
        queue: 'gekko-artifacts',
        callback: (err, msg) => {
          if (!err) this.onArtifactRequest(msg, cache);
        },
      });
    }
    const forgetAfterMs = this.options.forgetAfterMs ?? 5 * 60_000;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const { connection, lastSeenAt } of [...this.workers.values()]) {
        if (now - lastSeenAt > forgetAfterMs) connection.close();
      }
    }, Math.min(forgetAfterMs, 30_000));
    this.sweeper.unref?.();
  }

  private warnOnce(key: string, message: string) {
    if (this.warned.has(key) || this.warned.size > 1000) return;
    this.warned.add(key);
    this.options.logger?.warn(message);
  }

  private onLegacyHeartbeat(msg: Msg) {
    this.warnOnce(
      `legacy:${msg.subject}`,
      `Ignoring a heartbeat on ${msg.subject}: that worker uses NATS subject layout 1 (without its pool); upgrade its gekko-worker and give it its own NATS identity (deploy/nats/README.md)`,
    );
  }

  private refuse(
    msg: Msg,
    subject: { pool: string; id: string },
    message: HeartbeatMessage,
  ) {
    const claimed = message.worker;
    const reason =
      claimed.pool !== subject.pool
        ? `claims pool ${claimed.pool} on the subject of pool ${subject.pool}`
        : `claims worker id ${claimed.id} on the subject of worker ${subject.id}`;
    this.warnOnce(
      `refused:${msg.subject}`,
      `Refusing heartbeats on ${msg.subject}: the worker ${reason}. Its NATS identity may only publish as worker ${subject.id} of pool ${subject.pool}`,
    );
    const now = Date.now();
    const interval = this.options.refusalReportIntervalMs ?? 60_000;
    let entry = this.refusals.get(msg.subject);
    let report = false;
    if (!entry || now - entry.reportedAt >= interval) {
      report = true;
      if (!entry && this.refusals.size >= 1000) {
        // Forget the oldest subject rather than grow without bound.
        this.refusals.delete(this.refusals.keys().next().value!);
      }
      entry = { reportedAt: now, unreported: entry?.unreported ?? 0 };
      this.refusals.delete(msg.subject);
      this.refusals.set(msg.subject, entry);
    }
    const unreported = entry.unreported;
    entry.unreported = report ? 0 : unreported + 1;
    try {
      this.options.onRefusal?.({
        subject: msg.subject,
        subjectPool: subject.pool,
        subjectId: subject.id,
        claimedPool: claimed.pool,
        claimedId: claimed.id,
        reason,
        report,
        unreported: report ? unreported : entry.unreported,
      });
    } catch (error) {
      this.options.logger?.warn(
        `The refusal listener failed for ${msg.subject}: ${String(error)}`,
      );
    }
  }

  private onHeartbeat(msg: Msg) {
    const subject = poolAndIdOfSubject(msg.subject);
    let message: HeartbeatMessage | undefined;
    try {
      message = parseHeartbeatMessage(msg.json());
    } catch {
      message = undefined;
    }
    if (!message) {
      this.warnOnce(
        `heartbeat:${msg.subject}`,
        `Ignoring a malformed heartbeat on ${msg.subject}`,
      );
      return;
    }
    if (
      message.worker.id !== subject.id ||
      message.worker.pool !== subject.pool
    ) {
      this.refuse(msg, subject, message);
      return;
    }
    const id = message.worker.id;
    let known = this.workers.get(id);
    if (!known || !sameRun(known.connection.identity, message.worker)) {
      if (known) {
        // Restarted with the same id: the old run's requests will not be answered.
        known.connection.failPending(
          new WorkerFailure('WORKER_LOST', `Worker ${id} restarted`),
        );
        known.connection.close();
      }
      const connection: NatsWorkerConnection = new NatsWorkerConnection(
        { ...message.worker },
        this.nc,
        this.subjects,
        {
          probeAfterMs: this.options.probeAfterMs,
          batches: message.accepts?.includes(INFER_BATCH) ?? false,
          onClose: closed => {
            if (this.workers.get(id)?.connection === closed) {
              this.workers.delete(id);
            }
          },
        },
      );
      known = { connection, lastSeenAt: Date.now() };
      this.workers.set(id, known);
    }
    known.lastSeenAt = Date.now();
    try {
      this.options.events.heartbeat(known.connection, message);
    } catch (error) {
      this.options.logger?.warn(
        `The heartbeat listener failed for worker ${id}: ${String(error)}`,
      );
    }
  }

  private onBye(msg: Msg) {
    const { pool, id } = poolAndIdOfSubject(msg.subject);
    const known = this.workers.get(id);
    // Only the identity allowed on the worker's own subject may say goodbye for it.
    if (!known || known.connection.identity.pool !== pool) return;
    let sender: { worker?: Partial<WorkerIdentity> } | undefined;
    try {
      sender = msg.json();
    } catch {
      sender = undefined;
    }
    // A late goodbye of an earlier run must not remove the run that replaced it.
    if (
      sender?.worker?.startedAt !== undefined &&
      sender.worker.startedAt !== known.connection.identity.startedAt
    ) {
      return;
    }
    known.connection.markLeaving();
    known.connection.close();
    try {
      this.options.events.gone(id, 'worker said goodbye');
    } catch (error) {
      this.options.logger?.warn(
        `The gone listener failed for worker ${id}: ${String(error)}`,
      );
    }
  }

  private onArtifactRequest(msg: Msg, cache: ArtifactCache) {
    if (!msg.reply) return;
    const fail = (message: string) =>
      respond(
        msg,
        new Uint8Array(0),
        errorHeaders(new WorkerFailure('ARTIFACT_UNAVAILABLE', message)),
      );
    let request: { sha256?: unknown; offset?: unknown; length?: unknown };
    try {
      request = msg.json();
    } catch {
      fail('An artifact request must be JSON { sha256, offset, length }');
      return;
    }
    const { sha256, offset, length } = request ?? {};
    if (
      typeof sha256 !== 'string' ||
      !/^[0-9a-f]{64}$/.test(sha256) ||
      !Number.isSafeInteger(offset) ||
      (offset as number) < 0 ||
      !Number.isSafeInteger(length) ||
      (length as number) <= 0
    ) {
      fail(
        'An artifact request needs a hex sha256, an offset >= 0 and a length > 0',
      );
      return;
    }
    const start = offset as number;
    const cap = artifactChunkBytes(this.nc.info?.max_payload);
    cache.get(sha256).then(
      bytes => {
        if (!bytes) {
          fail(`The control plane has no artifact with SHA-256 ${sha256}`);
        } else if (start >= bytes.byteLength) {
          fail(
            `Offset ${start} is past the end of artifact ${sha256} (${bytes.byteLength} bytes)`,
          );
        } else {
          const end = Math.min(
            bytes.byteLength,
            start + Math.min(length as number, cap),
          );
          respond(msg, bytes.subarray(start, end));
        }
      },
      error => fail(`Reading artifact ${sha256} failed: ${String(error)}`),
    );
  }
}
