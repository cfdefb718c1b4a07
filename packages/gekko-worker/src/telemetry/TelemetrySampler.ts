import { execFile } from 'node:child_process';
import os from 'node:os';
import { WorkloadStats } from '../batching/LatencyWindow';
import { LoadedModel } from '../runtime/ModelHost';
import { cpuTelemetry, CpuTimes } from './cpuTelemetry';
import { parseIoregAccelerator } from './parseIoregAccelerator';
import {
  NVIDIA_SMI_QUERY_FIELDS,
  parseNvidiaSmiCsv,
} from './parseNvidiaSmiCsv';
import { AcceleratorKind, AcceleratorSample, WorkerHeartbeat } from './types';

/** Runs a command and resolves with its stdout; rejects when it is missing, fails or times out. */
export type CommandRunner = (
  file: string,
  args: string[],
  timeoutMs: number,
) => Promise<string>;

/** The part of a model host the heartbeat reads. */
export interface WorkloadSource {
  list(): LoadedModel[];
  stats(): WorkloadStats;
}

/** Options of a {@link TelemetrySampler}. */
export interface TelemetrySamplerOptions {
  workload?: WorkloadSource;
  runCommand?: CommandRunner;
  platform?: NodeJS.Platform;
  arch?: string;
  /** Limit for each nvidia-smi / ioreg call; defaults to 2 seconds. */
  commandTimeoutMs?: number;
  /** Which GPU the heartbeat's top-level readings describe; defaults to 0. */
  deviceIndex?: number;
}

const NVIDIA_SMI_ARGS = [
  `--query-gpu=${NVIDIA_SMI_QUERY_FIELDS.join(',')}`,
  '--format=csv,noheader,nounits',
];
const IOREG_ARGS = ['-r', '-d', '1', '-c', 'IOAccelerator'];

const runWithExecFile: CommandRunner = (file, args, timeoutMs) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });

/**
 * Reads the host's accelerator and the worker's workload into a {@link WorkerHeartbeat}.
 * The source is chosen once by host: nvidia-smi answers → cuda; Apple Silicon → ioreg
 * (`mps`); otherwise the OS (`cpu`). A missing or failing command never throws.
 */
export class TelemetrySampler {
  private readonly runCommand: CommandRunner;
  private readonly platform: NodeJS.Platform;
  private readonly arch: string;
  private readonly timeoutMs: number;
  private readonly deviceIndex: number;
  private kind: Promise<AcceleratorKind> | undefined;
  private previousCpuTimes: CpuTimes | undefined;

  constructor(private readonly options: TelemetrySamplerOptions = {}) {
    this.runCommand = options.runCommand ?? runWithExecFile;
    this.platform = options.platform ?? process.platform;
    this.arch = options.arch ?? process.arch;
    this.timeoutMs = options.commandTimeoutMs ?? 2000;
    this.deviceIndex = options.deviceIndex ?? 0;
  }

  /** The accelerator kind of this host, detected on first use. */
  acceleratorKind(): Promise<AcceleratorKind> {
    this.kind ??= this.detect();
    return this.kind;
  }

  /** Takes one heartbeat. */
  async sample(): Promise<WorkerHeartbeat> {
    const kind = await this.acceleratorKind();
    let devices: AcceleratorSample[] = [];
    let telemetryError: string | undefined;
    try {
      devices = await this.readDevices(kind);
    } catch (error) {
      telemetryError = `${kind} telemetry unavailable: ${String(error)}`;
    }
    const device =
      devices.find(d => d.index === this.deviceIndex) ?? devices[0] ?? {};
    const stats = this.options.workload?.stats();
    return {
      timestamp: new Date().toISOString(),
      acceleratorKind: kind,
      deviceName: device.name,
      utilizationPercent: device.utilizationPercent,
      memoryUsedBytes: device.memoryUsedBytes,
      memoryTotalBytes: device.memoryTotalBytes,
      temperatureCelsius: device.temperatureCelsius,
      powerWatts: device.powerWatts,
      devices,
      loadedModels: (this.options.workload?.list() ?? []).map(m => ({
        name: m.name,
        version: m.version,
        provider: m.provider,
      })),
      queueDepth: stats?.queueDepth ?? 0,
      requestsPerSecond: stats?.requestsPerSecond ?? 0,
      rowsPerSecond: stats?.rowsPerSecond ?? 0,
      latencyMs: stats?.latencyMs ?? {},
      ...(telemetryError ? { telemetryError } : {}),
    };
  }

  /** Calls `onHeartbeat` every `intervalMs` (1 s by default) until the returned function is called. */
  start(
    onHeartbeat: (heartbeat: WorkerHeartbeat) => void,
    intervalMs = 1000,
  ): () => void {
    const timer = setInterval(() => {
      this.sample().then(onHeartbeat, () => {});
    }, intervalMs);
    timer.unref?.();
    return () => clearInterval(timer);
  }

  private async detect(): Promise<AcceleratorKind> {
    try {
      if ((await this.readNvidia()).length > 0) {
        return 'cuda';
      }
    } catch {
      // no nvidia-smi or no driver: not a CUDA host
    }
    if (this.platform === 'darwin' && this.arch === 'arm64') {
      try {
        await this.readIoreg();
        return 'mps';
      } catch {
        // ioreg gave nothing usable; report the CPU rather than guess
      }
    }
    return 'cpu';
  }

  private async readDevices(
    kind: AcceleratorKind,
  ): Promise<AcceleratorSample[]> {
    if (kind === 'cuda') {
      return (await this.readNvidia()).map(gpu => ({
        index: gpu.index,
        uuid: gpu.uuid,
        name: gpu.name,
        utilizationPercent: gpu.utilizationPercent,
        memoryUsedBytes: gpu.memoryUsedBytes,
        memoryTotalBytes: gpu.memoryTotalBytes,
        temperatureCelsius: gpu.temperatureCelsius,
        powerWatts: gpu.powerWatts,
      }));
    }
    if (kind === 'mps') {
      const gpu = await this.readIoreg();
      // Unified memory: the GPU's share of it is bounded by the machine's RAM.
      return [
        {
          index: 0,
          name: gpu.model,
          utilizationPercent: gpu.utilizationPercent,
          memoryUsedBytes: gpu.memoryUsedBytes,
          memoryTotalBytes: os.totalmem(),
        },
      ];
    }
    const cpu = cpuTelemetry(this.previousCpuTimes);
    this.previousCpuTimes = cpu.times;
    return [
      {
        index: 0,
        name: cpu.name,
        utilizationPercent: cpu.utilizationPercent,
        memoryUsedBytes: cpu.memoryUsedBytes,
        memoryTotalBytes: cpu.memoryTotalBytes,
      },
    ];
  }

  private async readNvidia() {
    const output = await this.runCommand(
      'nvidia-smi',
      NVIDIA_SMI_ARGS,
      this.timeoutMs,
    );
    return parseNvidiaSmiCsv(output);
  }

  private async readIoreg() {
    const output = await this.runCommand('ioreg', IOREG_ARGS, this.timeoutMs);
    const gpu = parseIoregAccelerator(output);
    if (!gpu) {
      throw new Error('ioreg listed no IOAccelerator');
    }
    return gpu;
  }
}
