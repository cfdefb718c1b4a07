import { LoggerService } from '@backstage/backend-plugin-api';
import type {
  GpuPoolCapacity,
  GpuWorkerStatus,
} from '@gekko/plugin-gekko-common';
import {
  WorkerFailure,
  type ExecutionProvider,
  type HeartbeatMessage,
  WorkerConnection,
  WorkerHeartbeat,
  WorkerLinkEvents,
} from '@gekko/worker';

/** A worker the manager knows, with what allocation needs at hand. */
export interface ManagedWorker {
  readonly id: string;
  readonly pool: string;
  readonly connection: WorkerConnection;
  readonly registeredAt: number;
  lastHeartbeatAt: number;
  lastSeq: number;
  heartbeat: WorkerHeartbeat;
  /** Requests sent by this backend and not yet answered. */
  outstanding: number;
  /** `name@version` of every model version loaded on it. */
  models: Set<string>;
  state: 'ready' | 'suspect';
  /** When this backend saw a load or unload finish, so an older heartbeat does not undo it. */
  changedAt: Map<string, number>;
  /** The execution provider of each loaded model version, as the worker reported it. */
  providers: Map<string, ExecutionProvider>;
  /**
   * Settles as `work` does, or rejects with `WORKER_LOST` the moment the worker is dropped, so a
   * request in flight on it fails over at once.
   */
  whileAlive<T>(work: Promise<T>): Promise<T>;
  /** @internal */
  markLost: (reason: string) => void;
}

/**
 * {@link ManagedWorker.whileAlive} and `markLost`: what is in flight on a worker, failed all at
 * once when it is dropped. Not a race against one long-lived `lost` promise: every race would leave
 * a reaction on it, holding its request's answer, until the worker is gone (a leak of every answer
 * a worker ever gave, and old-generation garbage by the thousand per second on the hot path).
 */
function lossTracker(id: string) {
  const inFlight = new Set<(failure: WorkerFailure) => void>();
  let lost: WorkerFailure | undefined;
  return {
    whileAlive<T>(work: Promise<T>): Promise<T> {
      if (lost) {
        work.catch(() => {});
        return Promise.reject(lost);
      }
      return new Promise<T>((resolve, reject) => {
        inFlight.add(reject);
        work.then(
          value => {
            inFlight.delete(reject);
            resolve(value);
          },
          error => {
            inFlight.delete(reject);
            reject(error);
          },
        );
      });
    },
    markLost(reason: string) {
      if (lost) return;
      lost = new WorkerFailure(
        'WORKER_LOST',
        `Worker ${id} was dropped: ${reason}`,
      );
      for (const reject of inFlight) reject(lost);
      inFlight.clear();
    },
  };
}

/** What the manager tells the rest of the backend. */
export interface GpuManagerListener {
  /** A worker registered (its first heartbeat), or came back after being dropped. */
  joined?(worker: ManagedWorker): void;
  /** A worker was dropped: it said goodbye, its thread exited, or it missed heartbeats. */
  left?(worker: ManagedWorker, reason: string): void;
  /** Every heartbeat, after the registry is updated. */
  heartbeat?(worker: ManagedWorker): void;
}

/** Options of a {@link GpuManager}. */
export interface GpuManagerOptions {
  logger: LoggerService;
  /** The interval workers heartbeat at; defaults to 1 s. */
  heartbeatIntervalMs?: number;
  /** Missed heartbeats after which a worker is dropped; defaults to 3. */
  missedHeartbeats?: number;
  now?: () => number;
}

/** `name@version`, the key of a model version. */
export function modelKey(name: string, version: string): string {
  return `${name}@${version}`;
}

/**
 * The live registry of inference workers, and allocation: which worker serves a request for a model
 * version. Workers register with their first heartbeat (over any transport) and are dropped when
 * they leave or miss `missedHeartbeats` heartbeats in a row.
 */
export class GpuManager implements WorkerLinkEvents {
  private readonly workers = new Map<string, ManagedWorker>();
  /** Workers by model version, then pool: allocation looks only at the workers that can serve. */
  private readonly byModel = new Map<string, Map<string, Set<ManagedWorker>>>();
  private readonly listeners: GpuManagerListener[] = [];
  private readonly intervalMs: number;
  private readonly missed: number;
  private readonly now: () => number;
  private sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: GpuManagerOptions) {
    this.intervalMs = options.heartbeatIntervalMs ?? 1000;
    this.missed = options.missedHeartbeats ?? 3;
    this.now = options.now ?? Date.now;
  }

  /** Starts dropping silent workers; returns a function that stops it. */
  start(): () => void {
    this.sweeper ??= setInterval(
      () => this.sweep(),
      Math.max(50, this.intervalMs / 4),
    );
    this.sweeper.unref?.();
    return () => this.stop();
  }

  stop(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  addListener(listener: GpuManagerListener): void {
    this.listeners.push(listener);
  }

  heartbeat(connection: WorkerConnection, message: HeartbeatMessage): void {
    const id = message.worker.id;
    let worker = this.workers.get(id);
    if (
      worker &&
      message.seq <= worker.lastSeq &&
      worker.connection === connection
    ) {
      return; // a late or repeated heartbeat
    }
    const isNew = !worker || worker.connection !== connection;
    if (!worker || worker.connection !== connection) {
      if (worker) this.drop(worker, 'replaced by a new connection');
      worker = {
        ...lossTracker(id),
        id,
        pool: message.worker.pool,
        connection,
        registeredAt: this.now(),
        lastHeartbeatAt: this.now(),
        lastSeq: message.seq,
        heartbeat: message.heartbeat,
        outstanding: 0,
        models: new Set(),
        state: 'ready',
        changedAt: new Map(),
        providers: new Map(),
      };
      this.workers.set(id, worker);
    }
    worker.lastHeartbeatAt = this.now();
    worker.lastSeq = message.seq;
    worker.heartbeat = message.heartbeat;
    worker.state = 'ready';
    const reported = new Set(
      message.heartbeat.loadedModels.map(m => modelKey(m.name, m.version)),
    );
    // A heartbeat sampled before a load or unload finished would undo what this backend already
    // knows; changes younger than two intervals win over it.
    const fresh = (key: string) =>
      this.now() - (worker!.changedAt.get(key) ?? -Infinity) <
      2 * this.intervalMs;
    for (const key of [...worker.models]) {
      if (!reported.has(key) && !fresh(key)) this.unindex(worker, key);
    }
    for (const m of message.heartbeat.loadedModels) {
      worker.providers.set(modelKey(m.name, m.version), m.provider);
    }
    for (const key of reported) {
      if (!worker.models.has(key) && !fresh(key)) this.index(worker, key);
    }
    if (isNew) {
      this.options.logger.info(
        `Worker ${id} joined pool ${worker.pool} over ${
          message.worker.transport
        } (${message.heartbeat.acceleratorKind}${
          message.heartbeat.deviceName
            ? `, ${message.heartbeat.deviceName}`
            : ''
        })`,
      );
      for (const l of this.listeners) l.joined?.(worker);
    }
    for (const l of this.listeners) l.heartbeat?.(worker);
  }

  gone(workerId: string, reason: string): void {
    const worker = this.workers.get(workerId);
    if (worker) this.drop(worker, reason);
  }

  /** Records that a model version finished loading on a worker, before its next heartbeat says so. */
  markLoaded(
    workerId: string,
    name: string,
    version: string,
    provider: ExecutionProvider,
  ): void {
    const worker = this.workers.get(workerId);
    if (!worker) return;
    worker.changedAt.set(modelKey(name, version), this.now());
    worker.providers.set(modelKey(name, version), provider);
    this.index(worker, modelKey(name, version));
  }

  /** Records that a model version was unloaded from a worker. */
  markUnloaded(workerId: string, name: string, version: string): void {
    const worker = this.workers.get(workerId);
    if (!worker) return;
    worker.changedAt.set(modelKey(name, version), this.now());
    this.unindex(worker, modelKey(name, version));
  }

  /** Drops workers that missed too many heartbeats; marks those that missed one as suspect. */
  sweep(): void {
    const now = this.now();
    for (const worker of [...this.workers.values()]) {
      const silentMs = now - worker.lastHeartbeatAt;
      if (silentMs > this.intervalMs * this.missed) {
        this.drop(
          worker,
          `missed ${this.missed} heartbeats (silent for ${Math.round(
            silentMs,
          )} ms)`,
        );
      } else if (silentMs > this.intervalMs * 1.5) {
        worker.state = 'suspect';
      }
    }
  }

  /**
   * Picks the worker for one request: among the workers that have the model version loaded, in the
   * first of `pools` that has any, the one with the least outstanding work (requests in flight from
   * here plus its batch queue), then the most free accelerator memory; in-process workers are packed
   * onto the first ready one instead. Ready workers come before suspect ones; `exclude` holds
   * workers already tried for this request.
   */
  pick(
    name: string,
    version: string,
    pools: readonly string[],
    exclude?: ReadonlySet<string>,
  ): ManagedWorker | undefined {
    const byPool = this.byModel.get(modelKey(name, version));
    if (!byPool) return undefined;
    for (const pool of pools) {
      const candidates = byPool.get(pool);
      if (!candidates) continue;
      let best: ManagedWorker | undefined;
      let bestLoad = Infinity;
      let bestFree = -Infinity;
      for (const worker of candidates) {
        if (exclude?.has(worker.id)) continue;
        // Workers on this backend's event loop (in-process) run one at a time whichever is picked:
        // spreading a burst over them only splits it into more, smaller batches. They are packed
        // instead: the first ready one takes every request, the others stand by for failover.
        const packed = worker.connection.identity.transport === 'in-process';
        const load =
          (packed ? 0 : worker.outstanding + worker.heartbeat.queueDepth) +
          (worker.state === 'suspect' ? 1e6 : 0);
        const free =
          (worker.heartbeat.memoryTotalBytes ?? 0) -
          (worker.heartbeat.memoryUsedBytes ?? 0);
        if (load < bestLoad || (load === bestLoad && free > bestFree)) {
          best = worker;
          bestLoad = load;
          bestFree = free;
        }
      }
      if (best) return best;
    }
    return undefined;
  }

  /** One worker by id. */
  get(id: string): ManagedWorker | undefined {
    return this.workers.get(id);
  }

  /** Every worker, or a pool's. */
  list(pool?: string): ManagedWorker[] {
    const all = [...this.workers.values()];
    return pool ? all.filter(w => w.pool === pool) : all;
  }

  /** Workers as the API shows them. */
  statuses(pool?: string): GpuWorkerStatus[] {
    return this.list(pool)
      .map(w => toStatus(w))
      .sort((a, b) => a.pool.localeCompare(b.pool) || a.id.localeCompare(b.id));
  }

  /** Live capacity per pool, summed over its workers. */
  capacity(): GpuPoolCapacity[] {
    const byPool = new Map<string, ManagedWorker[]>();
    for (const w of this.workers.values()) {
      byPool.set(w.pool, [...(byPool.get(w.pool) ?? []), w]);
    }
    return [...byPool.entries()]
      .map(([pool, workers]) => poolCapacity(pool, workers))
      .sort((a, b) => a.pool.localeCompare(b.pool));
  }

  /** Closes every worker's connection (threads end; remote workers are forgotten). */
  async close(): Promise<void> {
    this.stop();
    const workers = [...this.workers.values()];
    await Promise.allSettled(workers.map(w => w.connection.close()));
    this.workers.clear();
    this.byModel.clear();
  }

  private index(worker: ManagedWorker, key: string) {
    worker.models.add(key);
    let byPool = this.byModel.get(key);
    if (!byPool) {
      byPool = new Map();
      this.byModel.set(key, byPool);
    }
    let set = byPool.get(worker.pool);
    if (!set) {
      set = new Set();
      byPool.set(worker.pool, set);
    }
    set.add(worker);
  }

  private unindex(worker: ManagedWorker, key: string) {
    worker.models.delete(key);
    worker.providers.delete(key);
    const byPool = this.byModel.get(key);
    const set = byPool?.get(worker.pool);
    set?.delete(worker);
    if (set && set.size === 0) byPool!.delete(worker.pool);
    if (byPool && byPool.size === 0) this.byModel.delete(key);
  }

  private drop(worker: ManagedWorker, reason: string) {
    if (this.workers.get(worker.id) !== worker) return;
    this.workers.delete(worker.id);
    worker.markLost(reason);
    for (const key of [...worker.models]) this.unindex(worker, key);
    this.options.logger.warn(
      `Worker ${worker.id} left pool ${worker.pool}: ${reason}`,
    );
    for (const l of this.listeners) l.left?.(worker, reason);
  }
}

function toStatus(w: ManagedWorker): GpuWorkerStatus {
  const hb = w.heartbeat;
  const identity = w.connection.identity;
  return {
    id: w.id,
    pool: w.pool,
    transport: identity.transport,
    host: identity.host,
    state: w.state,
    acceleratorKind: hb.acceleratorKind,
    deviceName: hb.deviceName,
    registeredAt: new Date(w.registeredAt).toISOString(),
    lastHeartbeatAt: new Date(w.lastHeartbeatAt).toISOString(),
    utilizationPercent: hb.utilizationPercent,
    memoryUsedBytes: hb.memoryUsedBytes,
    memoryTotalBytes: hb.memoryTotalBytes,
    temperatureCelsius: hb.temperatureCelsius,
    powerWatts: hb.powerWatts,
    devices: hb.devices,
    queueDepth: hb.queueDepth,
    outstanding: w.outstanding,
    requestsPerSecond: hb.requestsPerSecond,
    rowsPerSecond: hb.rowsPerSecond,
    latencyMs: hb.latencyMs,
    models: [...w.models].sort().map(key => {
      const at = key.lastIndexOf('@');
      return {
        name: key.slice(0, at),
        version: key.slice(at + 1),
        provider: w.providers.get(key) ?? 'cpu',
      };
    }),
    ...(hb.telemetryError ? { telemetryError: hb.telemetryError } : {}),
  };
}

/**
 * A pool's capacity from its workers' devices, each physical device counted once: several workers
 * on one host (the embedded threads, or one worker per GPU process) report the same devices.
 */
function poolCapacity(pool: string, workers: ManagedWorker[]): GpuPoolCapacity {
  let devices = 0;
  let memUsed: number | undefined;
  let memTotal: number | undefined;
  let utilSum = 0;
  let utilCount = 0;
  let rps = 0;
  let queue = 0;
  const seen = new Set<string>();
  for (const w of workers) {
    const hb = w.heartbeat;
    const host = w.connection.identity.host;
    const list = hb.devices.length
      ? hb.devices
      : [
          {
            name: hb.deviceName,
            utilizationPercent: hb.utilizationPercent,
            memoryUsedBytes: hb.memoryUsedBytes,
            memoryTotalBytes: hb.memoryTotalBytes,
          },
        ];
    for (const [i, device] of list.entries()) {
      const key = `${host}|${hb.acceleratorKind}|${
        'uuid' in device && device.uuid
          ? device.uuid
          : ('index' in device ? device.index : undefined) ?? i
      }`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (hb.acceleratorKind !== 'cpu') devices += 1;
      if (device.memoryUsedBytes !== undefined)
        memUsed = (memUsed ?? 0) + device.memoryUsedBytes;
      if (device.memoryTotalBytes !== undefined)
        memTotal = (memTotal ?? 0) + device.memoryTotalBytes;
      if (device.utilizationPercent !== undefined) {
        utilSum += device.utilizationPercent;
        utilCount += 1;
      }
    }
    rps += hb.requestsPerSecond;
    queue += hb.queueDepth;
  }
  return {
    pool,
    workers: workers.length,
    readyWorkers: workers.filter(w => w.state === 'ready').length,
    devices,
    memoryUsedBytes: memUsed,
    memoryTotalBytes: memTotal,
    utilizationPercent: utilCount ? utilSum / utilCount : undefined,
    requestsPerSecond: rps,
    queueDepth: queue,
  };
}
