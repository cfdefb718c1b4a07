import { TRADING_METRICS, VENUES } from '@gekko/plugin-gekko-common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ActiveFault, FaultKind, FaultParamsByKind } from './faults';
import { standardNormal } from './random';
import { LATENCY_BUCKETS, SimulatedServiceSpec } from './serviceSpecs';

const DEFAULT_SIGMA = 0.3;

/** One service's metrics in its own registry, advanced step by step under its faults. */
export class SimulatedService {
  readonly registry = new Registry();
  readonly venues: readonly string[];
  private readonly activeFaults = new Map<FaultKind, ActiveFault>();
  private readonly requests?: Counter<'outcome'>;
  private readonly latency?: Histogram;
  private readonly marketData?: Counter<'venue'>;
  private readonly venueConnected?: Gauge<'venue' | 'protocol'>;
  private readonly venueLastMessage?: Gauge<'venue'>;
  private readonly tradingVolume?: Counter;
  private readonly pnl?: Gauge;
  private readonly modelAccuracy?: Gauge;
  private readonly riskExposure?: Gauge;
  private readonly residentMemory?: Gauge;
  /** Requests due but not yet whole: the fraction carries to the next step. */
  private pendingRequests = 0;
  private pnlUsd = 0;
  private exposureUsd: number;
  private leakedBytes = 0;

  constructor(
    readonly spec: SimulatedServiceSpec,
    private readonly random: () => number,
    nowSeconds: number,
  ) {
    const registers = [this.registry];
    this.venues = spec.venues ?? [];
    this.exposureUsd = spec.riskExposure?.usd ?? 0;

    if (spec.requests) {
      this.requests = new Counter({
        name: TRADING_METRICS.requests,
        help: 'Requests handled, by outcome.',
        labelNames: ['outcome'],
        registers,
      });
      this.requests.inc({ outcome: 'success' }, 0);
      this.requests.inc({ outcome: 'error' }, 0);
      const latency = spec.requests.latency;
      if (latency) {
        this.latency = new Histogram({
          name: latency.metric,
          help: 'Duration of one request, in seconds.',
          buckets: LATENCY_BUCKETS,
          registers,
        });
      }
    }
    if (this.venues.length > 0) {
      this.venueConnected = new Gauge({
        name: TRADING_METRICS.venueConnected,
        help: '1 while the connection to the venue is up, else 0.',
        labelNames: ['venue', 'protocol'],
        registers,
      });
      this.venueLastMessage = new Gauge({
        name: TRADING_METRICS.venueLastMessage,
        help: 'Unix time of the last message from the venue, in seconds.',
        labelNames: ['venue'],
        registers,
      });
    }
    if (spec.marketDataPerSecond !== undefined) {
      this.marketData = new Counter({
        name: TRADING_METRICS.marketDataUpdates,
        help: 'Market-data updates received, by venue.',
        labelNames: ['venue'],
        registers,
      });
    }
    if (spec.tradingVolumeUsdPerSecond !== undefined) {
      this.tradingVolume = new Counter({
        name: TRADING_METRICS.tradingVolume,
        help: 'Traded notional, in USD.',
        registers,
      });
    }
    if (spec.pnlVolatilityUsd !== undefined) {
      this.pnl = new Gauge({
        name: TRADING_METRICS.pnl,
        help: 'Profit and loss today, in USD.',
        registers,
      });
    }
    if (spec.modelAccuracy !== undefined) {
      this.modelAccuracy = new Gauge({
        name: TRADING_METRICS.modelAccuracy,
        help: "Directional accuracy of the model's last predictions.",
        registers,
      });
    }
    if (spec.riskExposure) {
      this.riskExposure = new Gauge({
        name: TRADING_METRICS.riskExposure,
        help: 'Open risk exposure, in USD.',
        registers,
      });
      new Gauge({
        name: TRADING_METRICS.riskExposureLimit,
        help: 'The limit on the open risk exposure, in USD.',
        registers,
      }).set(spec.riskExposure.limitUsd);
    }
    if (spec.memory) {
      this.residentMemory = new Gauge({
        name: TRADING_METRICS.residentMemory,
        help: 'Resident memory size in bytes.',
        registers,
      });
      new Gauge({
        name: TRADING_METRICS.memoryLimit,
        help: 'The memory the service may use before it is killed, in bytes.',
        registers,
      }).set(spec.memory.limitBytes);
    }
    this.step(0, nowSeconds);
  }

  faults(): ActiveFault[] {
    return [...this.activeFaults.values()];
  }

  setFault(fault: ActiveFault): void {
    this.activeFaults.set(fault.kind, fault);
  }

  clearFault(kind: FaultKind): boolean {
    // A leak ends as a restart does: the memory it held is given back.
    if (kind === 'memory-leak') this.leakedBytes = 0;
    return this.activeFaults.delete(kind);
  }

  /** Generates what `seconds` of running produce, ending at `nowSeconds` (Unix time). */
  step(seconds: number, nowSeconds: number): void {
    const { spec } = this;
    const rate = this.fault('throughput-drop')?.factor ?? 1;

    if (spec.requests && this.requests) {
      this.pendingRequests += spec.requests.perSecond * rate * seconds;
      const count = Math.floor(this.pendingRequests);
      this.pendingRequests -= count;
      const errorRatio =
        this.fault('error-burst')?.ratio ?? spec.requests.errorRatio;
      const latency = spec.requests.latency;
      const median =
        (latency?.medianSeconds ?? 0) *
        (this.fault('latency-spike')?.factor ?? 1);
      const sigma = latency?.sigma ?? DEFAULT_SIGMA;
      let errors = 0;
      for (let i = 0; i < count; i++) {
        if (this.random() < errorRatio) errors++;
        this.latency?.observe(
          median * Math.exp(sigma * standardNormal(this.random)),
        );
      }
      this.requests.inc({ outcome: 'success' }, count - errors);
      this.requests.inc({ outcome: 'error' }, errors);
    }

    const down = this.fault('venue-disconnect')?.venue;
    for (const venue of this.venues) {
      const connected = venue !== down;
      const protocol = VENUES[venue]?.protocol ?? 'unknown';
      this.venueConnected?.set({ venue, protocol }, connected ? 1 : 0);
      if (!connected) continue;
      this.venueLastMessage?.set({ venue }, nowSeconds);
      this.marketData?.inc(
        { venue },
        (spec.marketDataPerSecond ?? 0) * rate * seconds * this.jitter(),
      );
    }

    this.tradingVolume?.inc(
      (spec.tradingVolumeUsdPerSecond ?? 0) * rate * seconds * this.jitter(),
    );
    if (this.pnl) {
      this.pnlUsd +=
        (spec.pnlVolatilityUsd ?? 0) * Math.sqrt(seconds) * this.normal();
      this.pnl.set(this.pnlUsd);
    }
    if (spec.modelAccuracy !== undefined) {
      const accuracy = spec.modelAccuracy + 0.01 * this.normal();
      this.modelAccuracy?.set(Math.min(1, Math.max(0, accuracy)));
    }
    if (spec.riskExposure) {
      // Mean-reverting: drifts, but back towards its usual level within a minute or so.
      const mean = spec.riskExposure.usd;
      this.exposureUsd +=
        0.02 * (mean - this.exposureUsd) * seconds +
        0.01 * mean * Math.sqrt(seconds) * this.normal();
      this.riskExposure?.set(Math.max(0, this.exposureUsd));
    }
    if (spec.memory) {
      this.leakedBytes +=
        (this.fault('memory-leak')?.bytesPerSecond ?? 0) * seconds;
      const steady = spec.memory.residentBytes * (1 + 0.002 * this.normal());
      this.residentMemory?.set(Math.round(steady + this.leakedBytes));
    }
  }

  private fault<K extends FaultKind>(
    kind: K,
  ): FaultParamsByKind[K] | undefined {
    return this.activeFaults.get(kind)?.params as
      | FaultParamsByKind[K]
      | undefined;
  }

  private normal(): number {
    return standardNormal(this.random);
  }

  /** ±3 %, so a rate is never a perfectly flat line. */
  private jitter(): number {
    return 1 + 0.03 * (2 * this.random() - 1);
  }
}
