import type { InferReply } from '@gekko/worker';
import { Counter, Gauge, Registry } from 'prom-client';
import type { GpuManager, ManagedWorker } from '../gpu/GpuManager';
import type { StoredModelVersion } from '../inference/ModelStore';
import {
  BoundCounter,
  BoundCounterMetric,
  BoundHistogram,
  BoundHistogramMetric,
} from './boundMetrics';

const MIB = 1024 * 1024;

/** The series a successful request of a model version on a worker adds to, bound once. */
interface SuccessSeries {
  requests: BoundCounter;
  rows: BoundCounter;
  queue: BoundHistogram;
  compute: BoundHistogram;
  request: BoundHistogram;
}

/** Latency buckets in seconds: 100 µs to 10 s. */
const SECONDS_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
  0.5, 1, 2.5, 5, 10,
];

/**
 * The gekko backend's Prometheus metrics, on their own registry:
 * - accelerator gauges under DCGM exporter names (`DCGM_FI_DEV_GPU_UTIL`, `DCGM_FI_DEV_FB_USED`/`FREE`
 *   in MiB, `DCGM_FI_DEV_GPU_TEMP`, `DCGM_FI_DEV_POWER_USAGE`), one series per GPU of every worker,
 *   labelled by pool, worker, device and accelerator, plus DCGM's `gpu`, `UUID`, `modelName` and
 *   `Hostname` in snake case (`uuid`, `model_name`, `hostname`: promtool rejects camel-case labels),
 *   read from the latest heartbeats at scrape time. CPU workers have no GPU and get none.
 * - Triton-like inference metrics under Prometheus' naming rules (Triton's own `nv_inference_*_us`
 *   counters fail `promtool check metrics`): `gekko_inference_requests_total` by outcome,
 *   `gekko_inference_rows_total`, `gekko_inference_retries_total`, and the histograms
 *   `gekko_inference_{queue,compute,request}_duration_seconds` (Triton's queue / compute_infer /
 *   request durations).
 * - Worker gauges: `gekko_worker_up`, queue depth, outstanding requests, utilization (all kinds).
 */
export class InferenceMetrics {
  private readonly requests: BoundCounterMetric;
  private readonly retries: Counter;
  private readonly rows: BoundCounterMetric;
  private readonly queueSeconds: BoundHistogramMetric;
  private readonly computeSeconds: BoundHistogramMetric;
  private readonly requestSeconds: BoundHistogramMetric;

  constructor(manager: GpuManager, readonly registry = new Registry()) {
    const registers = [this.registry];
    const modelLabels = ['model', 'version', 'pool', 'worker'] as const;
    this.requests = new BoundCounterMetric({
      name: 'gekko_inference_requests_total',
      help: 'Inference requests by outcome: success, bad_input, unavailable, deadline (as Triton’s nv_inference_request_success/failure)',
      labelNames: ['model', 'version', 'pool', 'outcome'],
      registry,
    });
    this.retries = new Counter({
      name: 'gekko_inference_retries_total',
      help: 'Attempts that failed on one worker and were retried on another, by the worker error code',
      labelNames: ['model', 'version', 'pool', 'worker', 'code'],
      registers,
    });
    this.rows = new BoundCounterMetric({
      name: 'gekko_inference_rows_total',
      help: 'Rows (predictions) of successful requests, by serving worker (as Triton’s nv_inference_count)',
      labelNames: modelLabels,
      registry,
    });
    this.queueSeconds = new BoundHistogramMetric({
      name: 'gekko_inference_queue_duration_seconds',
      help: 'Time a request waited in its worker’s dynamic batch queue',
      labelNames: ['model', 'version', 'pool'],
      buckets: SECONDS_BUCKETS,
      registry,
    });
    this.computeSeconds = new BoundHistogramMetric({
      name: 'gekko_inference_compute_duration_seconds',
      help: 'Time of the onnxruntime batch a request ran in',
      labelNames: ['model', 'version', 'pool'],
      buckets: SECONDS_BUCKETS,
      registry,
    });
    this.requestSeconds = new BoundHistogramMetric({
      name: 'gekko_inference_request_duration_seconds',
      help: 'End-to-end gateway time of a successful request, failovers included',
      labelNames: ['model', 'version', 'pool'],
      buckets: SECONDS_BUCKETS,
      registry,
    });

    const deviceLabels = [
      'pool',
      'worker',
      'device',
      'accelerator',
      'gpu',
      'uuid',
      'model_name',
      'hostname',
    ] as const;
    type DeviceLabels = Record<(typeof deviceLabels)[number], string>;
    const perDevice = (
      name: string,
      help: string,
      read: (
        d: ManagedWorker['heartbeat']['devices'][number],
      ) => number | undefined,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: deviceLabels,
        registers,
        collect() {
          this.reset();
          for (const worker of manager.list()) {
            if (worker.heartbeat.acceleratorKind === 'cpu') continue;
            worker.heartbeat.devices.forEach((device, i) => {
              const value = read(device);
              if (value === undefined || !Number.isFinite(value)) return;
              const index = String(device.index ?? i);
              const labels: DeviceLabels = {
                pool: worker.pool,
                worker: worker.id,
                device: index,
                accelerator: worker.heartbeat.acceleratorKind,
                gpu: index,
                uuid: device.uuid ?? '',
                model_name: device.name ?? worker.heartbeat.deviceName ?? '',
                hostname: worker.connection.identity.host,
              };
              this.set(labels, value);
            });
          }
        },
      });
    perDevice(
      'DCGM_FI_DEV_GPU_UTIL',
      'GPU utilization (in %).',
      d => d.utilizationPercent,
    );
    perDevice('DCGM_FI_DEV_FB_USED', 'Framebuffer memory used (in MiB).', d =>
      d.memoryUsedBytes === undefined ? undefined : d.memoryUsedBytes / MIB,
    );
    perDevice('DCGM_FI_DEV_FB_FREE', 'Framebuffer memory free (in MiB).', d =>
      d.memoryUsedBytes === undefined || d.memoryTotalBytes === undefined
        ? undefined
        : (d.memoryTotalBytes - d.memoryUsedBytes) / MIB,
    );
    perDevice(
      'DCGM_FI_DEV_GPU_TEMP',
      'GPU temperature (in C).',
      d => d.temperatureCelsius,
    );
    perDevice(
      'DCGM_FI_DEV_POWER_USAGE',
      'Power draw (in W).',
      d => d.powerWatts,
    );

    const workerLabels = [
      'pool',
      'worker',
      'accelerator',
      'transport',
    ] as const;
    const perWorker = (
      name: string,
      help: string,
      read: (w: ManagedWorker) => number | undefined,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: workerLabels,
        registers,
        collect() {
          this.reset();
          for (const worker of manager.list()) {
            const value = read(worker);
            if (value === undefined || !Number.isFinite(value)) continue;
            this.set(
              {
                pool: worker.pool,
                worker: worker.id,
                accelerator: worker.heartbeat.acceleratorKind,
                transport: worker.connection.identity.transport,
              },
              value,
            );
          }
        },
      });
    perWorker(
      'gekko_worker_up',
      '1 for a ready worker, 0 for one that missed a heartbeat',
      w => (w.state === 'ready' ? 1 : 0),
    );
    perWorker(
      'gekko_worker_utilization_percent',
      'Utilization of the worker’s accelerator (CPU for CPU workers)',
      w => w.heartbeat.utilizationPercent,
    );
    perWorker(
      'gekko_worker_queue_depth',
      'Requests waiting in the worker’s batch queues at its last heartbeat',
      w => w.heartbeat.queueDepth,
    );
    perWorker(
      'gekko_worker_outstanding_requests',
      'Requests sent to the worker and not yet answered',
      w => w.outstanding,
    );
    perWorker(
      'gekko_worker_latency_p99_seconds',
      'p99 latency the worker measured over its last minute',
      w =>
        w.heartbeat.latencyMs.p99 === undefined
          ? undefined
          : w.heartbeat.latencyMs.p99 / 1000,
    );
  }

  /** The series of a model version on a worker, bound once (every request used to find them). */
  private readonly bound = new WeakMap<
    StoredModelVersion,
    WeakMap<ManagedWorker, SuccessSeries>
  >();

  private successSeries(
    model: StoredModelVersion,
    worker: ManagedWorker,
  ): SuccessSeries {
    let byWorker = this.bound.get(model);
    if (!byWorker) {
      byWorker = new WeakMap();
      this.bound.set(model, byWorker);
    }
    let series = byWorker.get(worker);
    if (!series) {
      const short = {
        model: model.name,
        version: model.version,
        pool: worker.pool,
      };
      series = {
        requests: this.requests.series({ ...short, outcome: 'success' }),
        rows: this.rows.series({ ...short, worker: worker.id }),
        queue: this.queueSeconds.series(short),
        compute: this.computeSeconds.series(short),
        request: this.requestSeconds.series(short),
      };
      byWorker.set(worker, series);
    }
    return series;
  }

  /** Records a successful request. */
  success(
    model: StoredModelVersion,
    worker: ManagedWorker,
    rows: number,
    reply: InferReply,
    latencyMs: number,
  ): void {
    const series = this.successSeries(model, worker);
    series.requests.inc();
    series.rows.inc(rows);
    series.queue.observe(reply.queueMs / 1000);
    series.compute.observe(reply.computeMs / 1000);
    series.request.observe(latencyMs / 1000);
  }

  /** Records a request that failed for good. */
  failure(model: StoredModelVersion, reason: string): void {
    this.requests
      .series({
        model: model.name,
        version: model.version,
        pool: model.pools[0],
        outcome: reason,
      })
      .inc();
  }

  /** Records an attempt that failed on one worker and goes on to another. */
  retry(model: StoredModelVersion, worker: ManagedWorker, code: string): void {
    this.retries.inc({
      model: model.name,
      version: model.version,
      pool: worker.pool,
      worker: worker.id,
      code,
    });
  }

  /** The exposition text. */
  async render(): Promise<{ contentType: string; body: string }> {
    return {
      contentType: this.registry.contentType,
      body: await this.registry.metrics(),
    };
  }
}
