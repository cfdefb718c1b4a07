import os from 'node:os';
import {
  MsgHdrs,
  Msg,
  NatsConnection,
  PermissionViolationError,
  RequestError,
  Subscription,
  TimeoutError,
} from '@nats-io/transport-node';
import {
  ArtifactFetcher,
  WorkerAgent,
  toFailure,
} from '../../agent/WorkerAgent';
import { ModelHost } from '../../runtime/ModelHost';
import { TelemetrySampler } from '../../telemetry/TelemetrySampler';
import {
  LoadReply,
  WorkerCommand,
  WorkerFailure,
  WorkerIdentity,
} from '../../protocol/types';
import {
  connectNats,
  describeNatsAuth,
  describeNatsTls,
  NatsAuth,
  NatsTls,
} from './connectNats';
import {
  artifactChunkBytes,
  defaultNatsWorkerId,
  INFER_BATCH,
  isSafeNatsToken,
  NATS_HEADERS,
  natsSubjects,
  NatsSubjects,
} from './subjects';
import {
  decodeInferBatch,
  decodeInferRequest,
  encodeInferBatchReply,
  encodeInferReply,
  errorHeaders,
  failureInHeaders,
} from './wire';

/** Options of {@link startNatsWorker}. */
export interface NatsWorkerOptions {
  /** One NATS URL or several of the same cluster. */
  servers: string | string[];
  /** This worker's own NATS identity; the server's permissions confine it to its pool and id. */
  auth?: NatsAuth;
  tls?: NatsTls;
  /** The GPU pool this worker serves: a safe NATS token (pool names are DNS labels). */
  pool: string;
  /** A safe NATS token (letters, digits, `-`, `_`); defaults to `${hostname}-${pid}-${random hex}`. */
  id?: string;
  /** The worker's own copy of the models; artifacts missing here are fetched from the control plane. */
  modelsDir?: string;
  /** Defaults to `gekko`. */
  subjectPrefix?: string;
  /** Defaults to 1000 ms. */
  heartbeatIntervalMs?: number;
  /** onnxruntime intra-op threads per inference; defaults to onnxruntime's own choice (all cores). */
  intraOpThreads?: number;
  /** The client name the NATS server shows; defaults to `gekko-worker <id>`. */
  name?: string;
  /** Receives one human-readable line per event (connected, loads, reconnects); never secrets. */
  logger?: (line: string) => void;
  /** Replaces the accelerator telemetry (tests). */
  sampler?: TelemetrySampler;
}

/** The NATS server refused this worker its own subjects: its identity belongs to another pool or id. */
export class NatsWorkerRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NatsWorkerRefusedError';
  }
}

/** A running NATS worker. */
export interface NatsWorker {
  readonly identity: WorkerIdentity;
  readonly agent: WorkerAgent;
  /**
   * Settles when the NATS connection has closed for good: after {@link NatsWorker.close}, or with
   * the error that closed it (also when the server's permissions refuse this worker its subjects).
   */
  readonly closed: Promise<Error | undefined>;
  /** Requests being served now. */
  readonly inFlight: number;
  /**
   * Stops gracefully: says goodbye, stops taking requests, finishes those in flight (waiting at
   * most `graceMs`, 10 s by default), unloads the models and drains the connection.
   */
  close(graceMs?: number): Promise<void>;
}

/** Artifacts larger than this are refused: a single ONNX protobuf file cannot exceed 2 GiB. */
const MAX_ARTIFACT_BYTES = 2 ** 31;
/** Chunk requests in flight at once while fetching an artifact. */
const FETCH_WINDOW = 4;
const FETCH_CHUNK_TIMEOUT_MS = 30_000;

/** How long closing waits for NATS to flush (it waits for a server that is gone otherwise). */
const DRAIN_LIMIT_MS = 5_000;

/** Waits for `work`, or `ms`, whichever ends first; never rejects. */
async function within(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    work.catch(() => undefined),
    new Promise(resolve => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MB`
    : `${(bytes / 1024).toFixed(1)} KB`;
}

/** Fetches an artifact chunk by chunk from the control plane's artifact service. */
function natsArtifactFetcher(
  nc: NatsConnection,
  subjects: NatsSubjects,
  log: (line: string) => void,
): ArtifactFetcher {
  return async ref => {
    const size = ref.sizeBytes;
    if (!Number.isSafeInteger(size) || size < 0 || size > MAX_ARTIFACT_BYTES) {
      throw new WorkerFailure(
        'ARTIFACT_UNAVAILABLE',
        `The artifact of ${ref.name}@${ref.version} has an invalid size ${size}`,
      );
    }
    const chunk = artifactChunkBytes(nc.info?.max_payload);
    const out = new Uint8Array(size);
    log(
      `fetching ${ref.name}@${ref.version} (${formatBytes(
        size,
      )}) from the control plane`,
    );

    const fetchRange = async (start: number, length: number) => {
      let offset = start;
      let left = length;
      while (left > 0) {
        let reply: Msg;
        try {
          reply = await nc.request(
            subjects.artifacts,
            JSON.stringify({ sha256: ref.sha256, offset, length: left }),
            { timeout: FETCH_CHUNK_TIMEOUT_MS },
          );
        } catch (error) {
          let why = String(error);
          if (error instanceof RequestError && error.isNoResponders()) {
            why = `no control plane answers on ${subjects.artifacts}`;
          } else if (error instanceof TimeoutError) {
            why = 'the control plane did not answer in time';
          }
          throw new WorkerFailure(
            'ARTIFACT_UNAVAILABLE',
            `Could not fetch ${ref.name}@${ref.version}: ${why}; put it in the worker's models folder`,
          );
        }
        const failure = failureInHeaders(reply.headers);
        if (failure) {
          throw new WorkerFailure('ARTIFACT_UNAVAILABLE', failure.message);
        }
        if (reply.data.byteLength === 0 || reply.data.byteLength > left) {
          throw new WorkerFailure(
            'ARTIFACT_UNAVAILABLE',
            `The control plane sent ${reply.data.byteLength} bytes of ${ref.name}@${ref.version} at offset ${offset}, expected up to ${left}`,
          );
        }
        out.set(reply.data, offset);
        offset += reply.data.byteLength;
        left -= reply.data.byteLength;
      }
    };

    const starts: number[] = [];
    for (let start = 0; start < size; start += chunk) starts.push(start);
    let next = 0;
    await Promise.all(
      Array.from(
        { length: Math.min(FETCH_WINDOW, starts.length) },
        async () => {
          while (next < starts.length) {
            const start = starts[next++];
            await fetchRange(start, Math.min(chunk, size - start));
          }
        },
      ),
    );
    return out;
  };
}

function describeCommandResult(command: WorkerCommand, value: unknown): string {
  if (command.op === 'load') {
    const loaded = value as LoadReply;
    const fallbacks = loaded.fallbacks
      .map(f => `${f.providers.join('+')} refused: ${f.error.split('\n')[0]}`)
      .join('; ');
    return `${loaded.alreadyLoaded ? 'already loaded' : 'loaded'} ${
      loaded.name
    }@${loaded.version} with provider ${loaded.provider}${
      fallbacks ? ` (${fallbacks})` : ''
    }`;
  }
  if (command.op === 'unload') {
    const { unloaded } = value as { unloaded: boolean };
    return `${unloaded ? 'unloaded' : 'unload: not loaded'} ${command.name}@${
      command.version
    }`;
  }
  return '';
}

/**
 * Starts a remote worker: connects to NATS (dialling out, so no inbound port is needed), serves
 * control commands and inference requests on its subjects, and heartbeats so that control planes
 * register it. Rejects when the first connection fails.
 */
export async function startNatsWorker(
  options: NatsWorkerOptions,
): Promise<NatsWorker> {
  const log = options.logger ?? (() => {});
  const id = options.id ?? defaultNatsWorkerId();
  if (!isSafeNatsToken(id)) {
    throw new Error(
      `Invalid worker id ${JSON.stringify(
        id,
      )}: use letters, digits, '-' and '_' only (it is a NATS subject token)`,
    );
  }
  if (!isSafeNatsToken(options.pool)) {
    throw new Error(
      `Invalid pool ${JSON.stringify(
        options.pool,
      )}: use letters, digits, '-' and '_' only (it is a NATS subject token)`,
    );
  }
  const subjects = natsSubjects(options.subjectPrefix);
  const intervalMs = options.heartbeatIntervalMs ?? 1000;
  const identity: WorkerIdentity = {
    id,
    pool: options.pool,
    transport: 'nats',
    host: os.hostname(),
    pid: process.pid,
    startedAt: new Date().toISOString(),
  };

  const { pool } = options;
  const nc = await connectNats({
    servers: options.servers,
    auth: options.auth,
    tls: options.tls,
    name: options.name ?? `gekko-worker ${id}`,
    // Replies to this worker's requests come to its own inbox, which only it may read.
    inboxPrefix: subjects.inbox(pool, id),
  });
  log(
    `connected to ${nc.getServer()} as worker ${id} of pool ${pool} (${describeNatsAuth(
      options.auth,
    )}; ${describeNatsTls(options.tls)})`,
  );
  // Read from the start: the server's permission errors arrive as status events.
  const statuses = nc.status();

  const host = new ModelHost({ intraOpThreads: options.intraOpThreads });
  const sampler = options.sampler ?? new TelemetrySampler({ workload: host });
  const agent = new WorkerAgent({
    identity,
    host,
    sampler,
    modelsDir: options.modelsDir,
    trustAbsolutePaths: false,
    fetchArtifact: natsArtifactFetcher(nc, subjects, log),
  });

  /** The work of each message being served, and how many requests (commands, inferences) it holds. */
  const inFlight = new Set<Promise<void>>();
  let requestsInFlight = 0;
  const track = (work: Promise<void>, requests = 1) => {
    const settled = work.then(
      () => {},
      error => log(`a request handler failed: ${String(error)}`),
    );
    inFlight.add(settled);
    requestsInFlight += requests;
    settled.then(() => {
      inFlight.delete(settled);
      requestsInFlight -= requests;
    });
  };
  const respond = (msg: Msg, payload: Uint8Array | string, h?: MsgHdrs) => {
    try {
      msg.respond(payload, h ? { headers: h } : undefined);
    } catch (error) {
      // Typically a reply larger than the server's max_payload: say so instead of leaving the caller waiting.
      try {
        msg.respond(new Uint8Array(0), {
          headers: errorHeaders(
            new WorkerFailure(
              'INTERNAL',
              `Worker ${id} could not send its reply: ${String(error)}`,
            ),
          ),
        });
      } catch {
        // the connection is gone; the caller sees a timeout or no responders
      }
    }
  };

  const rpcSub: Subscription = nc.subscribe(subjects.rpc(pool, id), {
    callback: (err, msg) => {
      if (err) {
        log(`command subscription failed: ${err.message}`);
        return;
      }
      if (!msg.reply) return;
      let command: WorkerCommand;
      try {
        command = msg.json<WorkerCommand>();
      } catch {
        respond(
          msg,
          JSON.stringify({
            ok: false,
            error: new WorkerFailure(
              'BAD_COMMAND',
              'A command must be a JSON WorkerCommand',
            ).toJSON(),
          }),
        );
        return;
      }
      track(
        agent.command(command).then(
          value => {
            respond(msg, JSON.stringify({ ok: true, value }));
            const line = describeCommandResult(command, value);
            if (line) log(line);
          },
          error => {
            const failure = toFailure(error);
            if (command?.op === 'load' || command?.op === 'unload') {
              log(`${command.op} failed: ${failure.code} ${failure.message}`);
            }
            respond(
              msg,
              JSON.stringify({ ok: false, error: failure.toJSON() }),
            );
          },
        ),
      );
    },
  });

  /**
   * Serves one inference message and tracks its work until the reply is sent; a message that fails
   * as a whole (unreadable, or its reply cannot be made) gets one error reply.
   */
  const serveInfer = (
    msg: Msg,
    serve: () => { work: Promise<void>; requests: number },
  ) => {
    let work: Promise<void>;
    let requests = 1;
    try {
      ({ work, requests } = serve());
    } catch (error) {
      work = Promise.reject(error);
    }
    track(
      work.catch(error =>
        respond(msg, new Uint8Array(0), errorHeaders(toFailure(error))),
      ),
      requests,
    );
  };

  const inferSub: Subscription = nc.subscribe(subjects.infer(pool, id), {
    callback: (err, msg) => {
      if (err) {
        log(`inference subscription failed: ${err.message}`);
        return;
      }
      if (!msg.reply) return;
      if (!msg.headers?.has(NATS_HEADERS.batch)) {
        serveInfer(msg, () => {
          const request = decodeInferRequest(msg.headers, msg.data);
          const work = agent.infer(request).then(reply => {
            const encoded = encodeInferReply(reply);
            respond(msg, encoded.payload, encoded.headers);
          });
          return { work, requests: 1 };
        });
        return;
      }
      // Several requests: each goes to the agent as if it came alone (they meet in the model's
      // batcher in this turn of the event loop), and one reply carries every answer or failure, in
      // order.
      serveInfer(msg, () => {
        const requests = decodeInferBatch(msg.headers, msg.data);
        const work = Promise.all(
          requests.map(request =>
            request instanceof WorkerFailure
              ? request
              : agent.infer(request).then(undefined, toFailure),
          ),
        ).then(results => {
          const encoded = encodeInferBatchReply(results);
          respond(msg, encoded.payload, encoded.headers);
        });
        return { work, requests: requests.length };
      });
    },
  });

  /*
   * The server refuses what this NATS identity may not do. Refused heartbeats or request
   * subscriptions mean the identity belongs to another pool or id: nothing could reach this worker,
   * so it stops (at start-up, startNatsWorker rejects). Other refusals are logged.
   */
  let refused: Error | undefined;
  /** What a refusal does once the worker runs (at start-up, startNatsWorker rejects instead). */
  let stopRefused = () => {};
  const loggedRefusals = new Set<string>();
  const onRefusal = (error: PermissionViolationError) => {
    const own =
      (error.operation === 'publish' &&
        error.subject === subjects.heartbeat(pool, id)) ||
      (error.operation === 'subscription' &&
        (error.subject === subjects.rpc(pool, id) ||
          error.subject === subjects.infer(pool, id)));
    if (own) {
      if (refused) return;
      refused = new NatsWorkerRefusedError(
        `NATS refused worker ${id} of pool ${pool} (${describeNatsAuth(
          options.auth,
        )}): ${
          error.message
        }. This identity's permissions do not name pool ${pool} and id ${id}; use the credentials made for them (deploy/nats/README.md)`,
      );
      log(refused.message);
      stopRefused();
      return;
    }
    const key = `${error.operation} ${
      error.subject.startsWith('_INBOX.') ? '_INBOX.>' : error.subject
    }`;
    if (loggedRefusals.has(key) || loggedRefusals.size >= 50) return;
    loggedRefusals.add(key);
    log(`NATS refused this worker: ${error.message}`);
  };

  let connected = true;
  /** Set when closing starts: no heartbeat may follow the goodbye. */
  let stopping = false;
  let beating = false;
  let firstBeat = true;
  const beat = async () => {
    if (beating || stopping || !connected || nc.isClosed()) return;
    beating = true;
    try {
      const message = await agent.heartbeat();
      if (firstBeat) {
        firstBeat = false;
        const hb = message.heartbeat;
        log(
          `pool ${identity.pool}; accelerator ${hb.acceleratorKind}${
            hb.deviceName ? ` (${hb.deviceName})` : ''
          }; execution providers ${host
            .providerCandidates('auto')
            .map(c => c[0])
            .join(', ')}${
            options.modelsDir ? `; models folder ${options.modelsDir}` : ''
          }`,
        );
      }
      if (!stopping && connected && !nc.isClosed()) {
        nc.publish(
          subjects.heartbeat(pool, id),
          JSON.stringify({ ...message, accepts: [INFER_BATCH] }),
        );
      }
    } catch (error) {
      log(`heartbeat failed: ${String(error)}`);
    } finally {
      beating = false;
    }
  };
  // Heartbeats are not queued while disconnected (they would arrive stale, in a burst); one goes
  // out as soon as the connection is back.
  (async () => {
    for await (const status of statuses) {
      if (status.type === 'disconnect') {
        connected = false;
        log(`disconnected from ${status.server}; reconnecting`);
      } else if (status.type === 'reconnect') {
        connected = true;
        log(`reconnected to ${status.server}`);
        beat();
      } else if (status.type === 'ldm') {
        log(`server ${status.server} is entering lame duck mode`);
      } else if (status.type === 'error') {
        if (status.error instanceof PermissionViolationError) {
          onRefusal(status.error);
        } else {
          log(`NATS error: ${status.error.message}`);
        }
      }
    }
  })().catch(() => {});

  await beat();
  // The server answers the flush after it has refused (or taken) the subscriptions and the first
  // heartbeat; the status loop sees a refusal before this continues.
  await nc.flush().catch(() => undefined);
  await new Promise(resolve => setImmediate(resolve));
  if (refused) {
    const error = refused;
    await agent.shutdown().catch(() => undefined);
    await nc.close().catch(() => undefined);
    throw error;
  }
  const timer = setInterval(beat, intervalMs);

  const closed = nc.closed().then(error => refused ?? (error || undefined));
  let closing: Promise<void> | undefined;
  const close = (graceMs = 10_000): Promise<void> => {
    closing ??= (async () => {
      stopping = true;
      clearInterval(timer);
      if (!nc.isClosed()) {
        try {
          nc.publish(
            subjects.bye(pool, id),
            JSON.stringify({ worker: identity, reason: 'shutting down' }),
          );
        } catch {
          // closed meanwhile
        }
        // Unsubscribing makes new requests fail fast with "no responders", so callers go
        // elsewhere; messages already delivered are still served. Bounded: while the server is
        // unreachable a drain would wait for it.
        await within(
          Promise.allSettled([rpcSub.drain(), inferSub.drain()]),
          DRAIN_LIMIT_MS,
        );
      }
      if (inFlight.size > 0) {
        log(`finishing ${requestsInFlight} request(s) in flight`);
        await within(Promise.allSettled([...inFlight]), graceMs);
      }
      await agent.shutdown();
      await Promise.allSettled([...inFlight]);
      if (!nc.isClosed()) {
        await within(nc.drain(), DRAIN_LIMIT_MS);
        if (!nc.isClosed()) await nc.close();
      }
    })();
    return closing;
  };

  stopRefused = () => {
    close().catch(() => {});
  };

  return {
    identity,
    agent,
    closed,
    get inFlight() {
      return requestsInFlight;
    },
    close,
  };
}
