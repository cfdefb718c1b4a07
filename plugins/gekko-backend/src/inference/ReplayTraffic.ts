import { LoggerService } from '@backstage/backend-plugin-api';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { GatewayRequest } from './InferenceGateway';
import type { StoredModelVersion } from './ModelStore';

/**
 * The windows of a holdout file as `training/nhits/train.py` writes it: window k is
 * `values[k * stride, k * stride + window)`.
 */
interface HoldoutFile {
  window: number;
  stride: number;
  count: number;
  values: number[];
}

/** Options of a {@link ReplayTraffic}. */
export interface ReplayTrafficOptions {
  /** The inference gateway, or anything that answers its requests. */
  gateway: { predict(request: GatewayRequest): Promise<unknown> };
  /** The model registry: where the model's versions and their artifacts are. */
  registry: {
    versionsOf(
      name: string,
    ): Array<
      Pick<StoredModelVersion, 'version' | 'artifact' | 'state' | 'weight'>
    >;
  };
  /** Absolute path of the models folder. */
  modelsDir: string;
  logger: LoggerService;
  /** The model to call; the gateway picks the version by traffic weight, as for any caller. */
  model: string;
  /** Requests per second, one window each. */
  ratePerSecond: number;
  /**
   * Path inside the models folder of the holdout file to replay; default: the `holdout.json` beside
   * the artifact of one of the model's versions (those with the most traffic first).
   */
  holdout?: string;
}

/** One window in this many is also sent to each deployed version that has no traffic. */
const PREVIEW_EVERY = 4;

/** What a replay has done so far. */
export interface ReplayStats {
  sent: number;
  served: number;
  failed: number;
}

/**
 * Live traffic for a portal that has no trading engine calling it (the embedded default): replays a
 * model's holdout windows through the inference gateway at a steady rate, one window per request,
 * as a trading engine asking for a forecast every tick would. Each request is routed by traffic
 * weight like any other, so a canary's analysis has evidence on every version that takes traffic;
 * every fourth window also goes, by name, to each deployed version with no traffic (a blue-green's
 * new version before the switch, or one a canary replaced), as a smoke test would.
 * It calls the gateway in-process, as the backend itself: no token, no permission check.
 */
export class ReplayTraffic {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly previews = new Set<NodeJS.Timeout>();
  private readonly maxInFlight: number;
  private readonly stats: ReplayStats = { sent: 0, served: 0, failed: 0 };
  private windows: Float32Array[] = [];
  private next = 0;
  private routed = 0;
  private due = 0;
  private lastTick = 0;
  private timer?: NodeJS.Timeout;
  private lastError = '';

  constructor(private readonly options: ReplayTrafficOptions) {
    // At most a second's worth of requests waiting: a model slower than the rate is not piled on.
    this.maxInFlight = Math.max(4, Math.ceil(options.ratePerSecond));
  }

  /** Reads the windows and starts sending; a missing or unreadable holdout file is logged, not thrown. */
  start(): void {
    if (this.timer) return;
    const { ratePerSecond, logger, model } = this.options;
    const tickMs = Math.min(1000, Math.max(10, 1000 / ratePerSecond));
    this.lastTick = performance.now();
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
    this.readWindows().then(
      ({ file, windows }) => {
        this.windows = windows;
        logger.info(
          `Replaying ${windows.length} holdout windows of ${model} from ${file} at ${ratePerSecond} requests/s`,
        );
      },
      error => {
        logger.warn(`No replay traffic for ${model}: ${error.message}`);
        clearInterval(this.timer);
      },
    );
  }

  /** Stops sending and waits for the requests in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.previews.forEach(clearTimeout);
    await Promise.allSettled([...this.inFlight]);
  }

  /** Requests sent, served and failed so far. */
  progress(): ReplayStats {
    return { ...this.stats };
  }

  private tick() {
    const now = performance.now();
    this.due += ((now - this.lastTick) * this.options.ratePerSecond) / 1000;
    this.lastTick = now;
    if (!this.windows.length) {
      this.due = 0;
      return;
    }
    for (; this.due >= 1; this.due -= 1) {
      if (this.inFlight.size >= this.maxInFlight) {
        this.due = 0;
        return;
      }
      this.send();
    }
  }

  private send() {
    const { registry, model } = this.options;
    const window = this.windows[this.next];
    this.next = (this.next + 1) % this.windows.length;
    this.request(window);
    this.routed += 1;
    // A blue-green's new version waits with no traffic: one window in PREVIEW_EVERY goes to each
    // such version by name too, as a smoke test would, so its first analysis has evidence. Half an
    // interval later: sent with the routed request, it would queue behind it and look slower.
    if (this.routed % PREVIEW_EVERY === 0) {
      const timer = setTimeout(() => {
        this.previews.delete(timer);
        for (const v of registry.versionsOf(model)) {
          if (v.state === 'deployed' && v.weight === 0) {
            this.request(window, v.version);
          }
        }
      }, 500 / this.options.ratePerSecond);
      this.previews.add(timer);
    }
  }

  private request(window: Float32Array, version?: string) {
    const { gateway, model, logger } = this.options;
    this.stats.sent += 1;
    const request = gateway
      .predict({
        model,
        ...(version ? { version } : {}),
        rows: 1,
        featureShape: [window.length],
        // A copy: a transport may transfer the buffer it is given.
        input: window.slice(),
      })
      .then(
        () => {
          this.stats.served += 1;
        },
        error => {
          this.stats.failed += 1;
          // Each new kind of failure once, not one line per request.
          if (error.message !== this.lastError) {
            this.lastError = error.message;
            logger.warn(`Replay traffic to ${model} failed: ${error.message}`);
          }
        },
      )
      .finally(() => this.inFlight.delete(request));
    this.inFlight.add(request);
  }

  private async readWindows(): Promise<{
    file: string;
    windows: Float32Array[];
  }> {
    const { modelsDir, model } = this.options;
    const root = path.resolve(modelsDir);
    const candidates = this.options.holdout
      ? [this.options.holdout]
      : [...this.options.registry.versionsOf(model)]
          .sort(
            (a, b) =>
              Number(b.state === 'deployed') - Number(a.state === 'deployed') ||
              b.weight - a.weight,
          )
          .map(v => path.join(path.dirname(v.artifact), 'holdout.json'));
    for (const relative of candidates) {
      const file = path.resolve(root, relative);
      if (!file.startsWith(`${root}${path.sep}`)) {
        throw new Error(`${relative} is outside the models folder`);
      }
      let text: string;
      try {
        text = await fs.readFile(file, 'utf8');
      } catch {
        continue;
      }
      return { file: relative, windows: windowsOf(JSON.parse(text), relative) };
    }
    throw new Error(
      `no holdout file (${candidates.join(', ') || 'no version registered'})`,
    );
  }
}

function windowsOf(file: HoldoutFile, name: string): Float32Array[] {
  const { window, stride, count, values } = file;
  if (!(window > 0 && stride > 0 && count > 0 && Array.isArray(values))) {
    throw new Error(`${name} has no window, stride, count and values`);
  }
  const windows: Float32Array[] = [];
  for (let k = 0; k < count && k * stride + window <= values.length; k++) {
    windows.push(
      Float32Array.from(values.slice(k * stride, k * stride + window)),
    );
  }
  if (!windows.length) throw new Error(`${name} holds no whole window`);
  return windows;
}
