import { LoggerService } from '@backstage/backend-plugin-api';
import type {
  Accelerator,
  UtilizationHistory,
  UtilizationPoint,
  UtilizationRange,
} from '@gekko/plugin-gekko-common';
import { Knex } from 'knex';
import type { ManagedWorker } from './GpuManager';

const MINUTE = 60_000;
const LIVE_WINDOW_MS = 15 * MINUTE;

interface LivePoint {
  t: number;
  point: UtilizationPoint;
}

interface LiveSeries {
  workerId: string;
  pool: string;
  acceleratorKind: Accelerator;
  points: LivePoint[];
}

/** Sums of one worker's readings over the minute being collected. */
interface MinuteBucket {
  workerId: string;
  pool: string;
  accelerator: Accelerator;
  minute: number;
  samples: number;
  sums: Record<
    | 'utilizationPercent'
    | 'memoryUsedBytes'
    | 'memoryTotalBytes'
    | 'temperatureCelsius'
    | 'powerWatts'
    | 'requestsPerSecond'
    | 'queueDepth',
    { sum: number; n: number }
  >;
  p99Max?: number;
}

interface TelemetryRow {
  worker_id: string;
  pool: string;
  accelerator: string;
  minute: number | string;
  samples: number;
  utilization_percent: number | null;
  memory_used_bytes: number | null;
  memory_total_bytes: number | null;
  temperature_celsius: number | null;
  power_watts: number | null;
  requests_per_second: number | null;
  queue_depth: number | null;
  p99_ms: number | null;
}

const FIELDS = [
  ['utilizationPercent', 'utilization_percent'],
  ['memoryUsedBytes', 'memory_used_bytes'],
  ['memoryTotalBytes', 'memory_total_bytes'],
  ['temperatureCelsius', 'temperature_celsius'],
  ['powerWatts', 'power_watts'],
  ['requestsPerSecond', 'requests_per_second'],
  ['queueDepth', 'queue_depth'],
] as const;

function emptySums(): MinuteBucket['sums'] {
  return Object.fromEntries(
    FIELDS.map(([field]) => [field, { sum: 0, n: 0 }]),
  ) as MinuteBucket['sums'];
}

function average(acc: { sum: number; n: number }): number | undefined {
  return acc.n ? acc.sum / acc.n : undefined;
}

/**
 * Utilization history for the GPU utilization tab: the last 15 minutes of heartbeats in memory, and
 * one row per worker per minute in the database for the 24-hour chart (kept `retentionMs`, 48 hours by default).
 */
export class TelemetryHistory {
  private readonly live = new Map<string, LiveSeries>();
  private readonly buckets = new Map<string, MinuteBucket>();
  private readonly retentionMs: number;
  private readonly now: () => number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private lastPrune = 0;

  constructor(
    private readonly db: Knex,
    private readonly options: {
      logger: LoggerService;
      /** How long per-minute rows are kept; defaults to 48 hours. */
      retentionMs?: number;
      now?: () => number;
    },
  ) {
    this.retentionMs = options.retentionMs ?? 48 * 60 * MINUTE;
    this.now = options.now ?? Date.now;
  }

  /** Starts writing finished minutes every 10 s; returns a function that stops it. */
  start(): () => Promise<void> {
    this.timer ??= setInterval(() => {
      this.flush().catch(error =>
        this.options.logger.warn(
          `Could not store GPU utilization history: ${error}`,
        ),
      );
    }, 10_000);
    this.timer.unref?.();
    return async () => {
      clearInterval(this.timer);
      this.timer = undefined;
      await this.flush(true);
    };
  }

  /** Records one heartbeat of a worker. */
  record(worker: ManagedWorker): void {
    const hb = worker.heartbeat;
    const t = this.now();
    const point: UtilizationPoint = {
      t: new Date(t).toISOString(),
      utilizationPercent: hb.utilizationPercent,
      memoryUsedBytes: hb.memoryUsedBytes,
      memoryTotalBytes: hb.memoryTotalBytes,
      temperatureCelsius: hb.temperatureCelsius,
      powerWatts: hb.powerWatts,
      requestsPerSecond: hb.requestsPerSecond,
      queueDepth: hb.queueDepth,
      p99Ms: hb.latencyMs.p99,
    };
    let series = this.live.get(worker.id);
    if (!series) {
      series = {
        workerId: worker.id,
        pool: worker.pool,
        acceleratorKind: hb.acceleratorKind,
        points: [],
      };
      this.live.set(worker.id, series);
    }
    series.points.push({ t, point });
    while (series.points.length && series.points[0].t < t - LIVE_WINDOW_MS) {
      series.points.shift();
    }

    const minute = Math.floor(t / MINUTE) * MINUTE;
    let bucket = this.buckets.get(worker.id);
    if (bucket && bucket.minute !== minute) {
      this.queueWrite([bucket]);
      bucket = undefined;
    }
    if (!bucket) {
      bucket = {
        workerId: worker.id,
        pool: worker.pool,
        accelerator: hb.acceleratorKind,
        minute,
        samples: 0,
        sums: emptySums(),
      };
      this.buckets.set(worker.id, bucket);
    }
    bucket.samples += 1;
    for (const [field] of FIELDS) {
      const value = point[field];
      if (value !== undefined && Number.isFinite(value)) {
        bucket.sums[field].sum += value;
        bucket.sums[field].n += 1;
      }
    }
    if (point.p99Ms !== undefined) {
      bucket.p99Max = Math.max(bucket.p99Max ?? 0, point.p99Ms);
    }
  }

  /** Writes every finished minute (and, with `all`, the current ones too) and prunes old rows. */
  async flush(all = false): Promise<void> {
    const minute = Math.floor(this.now() / MINUTE) * MINUTE;
    const done: MinuteBucket[] = [];
    for (const [id, bucket] of this.buckets) {
      if (all || bucket.minute < minute) {
        done.push(bucket);
        this.buckets.delete(id);
      }
    }
    this.queueWrite(done);
    for (const [id, series] of this.live) {
      const last = series.points.at(-1);
      if (!last || last.t < this.now() - LIVE_WINDOW_MS) this.live.delete(id);
    }
    await this.flushing;
    if (this.now() - this.lastPrune > 10 * MINUTE) {
      this.lastPrune = this.now();
      await this.db('gekko_gpu_telemetry')
        .where('minute', '<', this.now() - this.retentionMs)
        .delete();
    }
  }

  /** The series of a range, for one pool or all. */
  async query(
    range: UtilizationRange,
    pool?: string,
  ): Promise<UtilizationHistory> {
    const to = this.now();
    if (range === '15m') {
      const from = to - LIVE_WINDOW_MS;
      return {
        pool,
        range,
        stepSeconds: 1,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        series: [...this.live.values()]
          .filter(s => !pool || s.pool === pool)
          .map(s => ({
            workerId: s.workerId,
            pool: s.pool,
            acceleratorKind: s.acceleratorKind,
            points: s.points.filter(p => p.t >= from).map(p => p.point),
          }))
          .filter(s => s.points.length > 0)
          .sort((a, b) => a.workerId.localeCompare(b.workerId)),
      };
    }
    const from = to - 24 * 60 * MINUTE;
    await this.flushing;
    let query = this.db<TelemetryRow>('gekko_gpu_telemetry')
      .where('minute', '>=', Math.floor(from / MINUTE) * MINUTE)
      .orderBy([{ column: 'worker_id' }, { column: 'minute' }]);
    if (pool) query = query.where('pool', pool);
    const rows = await query;
    const series = new Map<string, UtilizationHistory['series'][number]>();
    const seriesOf = (workerId: string, p: string, accelerator: string) => {
      let s = series.get(workerId);
      if (!s) {
        s = {
          workerId,
          pool: p,
          acceleratorKind: accelerator as Accelerator,
          points: [],
        };
        series.set(workerId, s);
      }
      return s;
    };
    for (const row of rows) {
      const point: UtilizationPoint = {
        t: new Date(Number(row.minute)).toISOString(),
      };
      for (const [field, column] of FIELDS) {
        if (row[column] !== null) point[field] = Number(row[column]);
      }
      if (row.p99_ms !== null) point.p99Ms = Number(row.p99_ms);
      seriesOf(row.worker_id, row.pool, row.accelerator).points.push(point);
    }
    // The minute being collected is not in the database yet.
    for (const bucket of this.buckets.values()) {
      if (pool && bucket.pool !== pool) continue;
      seriesOf(bucket.workerId, bucket.pool, bucket.accelerator).points.push(
        toPoint(bucket),
      );
    }
    return {
      pool,
      range,
      stepSeconds: 60,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      series: [...series.values()].sort((a, b) =>
        a.workerId.localeCompare(b.workerId),
      ),
    };
  }

  private queueWrite(buckets: MinuteBucket[]) {
    if (buckets.length === 0) return;
    const rows = buckets.map(bucket => {
      const point = toPoint(bucket);
      const row: TelemetryRow = {
        worker_id: bucket.workerId,
        pool: bucket.pool,
        accelerator: bucket.accelerator,
        minute: bucket.minute,
        samples: bucket.samples,
        utilization_percent: null,
        memory_used_bytes: null,
        memory_total_bytes: null,
        temperature_celsius: null,
        power_watts: null,
        requests_per_second: null,
        queue_depth: null,
        p99_ms: point.p99Ms ?? null,
      };
      for (const [field, column] of FIELDS) {
        row[column] = point[field] ?? null;
      }
      return row;
    });
    this.flushing = this.flushing
      .then(() =>
        this.db('gekko_gpu_telemetry')
          .insert(rows)
          .onConflict(['worker_id', 'minute'])
          .merge(),
      )
      .then(
        () => undefined,
        error =>
          this.options.logger.warn(
            `Could not store GPU utilization history: ${error}`,
          ),
      );
  }
}

function toPoint(bucket: MinuteBucket): UtilizationPoint {
  const point: UtilizationPoint = { t: new Date(bucket.minute).toISOString() };
  for (const [field] of FIELDS) {
    const value = average(bucket.sums[field]);
    if (value !== undefined) point[field] = value;
  }
  if (bucket.p99Max !== undefined) point.p99Ms = bucket.p99Max;
  return point;
}
