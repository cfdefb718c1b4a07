import { InputError, NotFoundError } from '@backstage/errors';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import {
  ActiveFault,
  FAULT_KINDS,
  isFaultKind,
  parseFaultParams,
} from './faults';
import { mulberry32 } from './random';
import { createRequestHandler } from './server';
import { DEFAULT_SERVICES, SimulatedServiceSpec } from './serviceSpecs';
import { SimulatedService } from './SimulatedService';

/** How often the running simulator advances its services. */
const TICK_MS = 250;
/**
 * The most time one advance simulates: after a longer pause (a suspended laptop, a debugger) the
 * rest is skipped, as a paused process would, instead of generating minutes of events at once.
 */
const MAX_STEP_SECONDS = 5;

/** Options of {@link TradingSimulator}. @public */
export interface TradingSimulatorOptions {
  /** The services to simulate; default the Gordon Gekko trading services. */
  services?: SimulatedServiceSpec[];
  /** Uniform random numbers in [0, 1); default a PRNG seeded with `seed`. */
  random?: () => number;
  /** Seed of the default PRNG (default 1). */
  seed?: number;
  /** The clock, in milliseconds since the epoch; default `Date.now`. */
  now?: () => number;
}

/**
 * Stands in for the trading services: one Prometheus registry per service, advanced lazily from the
 * clock, with faults switchable at run time and an optional HTTP server for scrapes and faults.
 *
 * @public
 */
export class TradingSimulator {
  private readonly services = new Map<string, SimulatedService>();
  private readonly now: () => number;
  private lastAdvanceMs: number;
  private ticker?: ReturnType<typeof setInterval>;
  private server?: Server;

  constructor(options: TradingSimulatorOptions = {}) {
    const random = options.random ?? mulberry32(options.seed ?? 1);
    this.now = options.now ?? Date.now;
    this.lastAdvanceMs = this.now();
    for (const spec of options.services ?? DEFAULT_SERVICES) {
      if (this.services.has(spec.name)) {
        throw new InputError(`services: "${spec.name}" is listed twice`);
      }
      this.services.set(
        spec.name,
        new SimulatedService(spec, random, this.lastAdvanceMs / 1000),
      );
    }
  }

  /** The names of the simulated services. */
  serviceNames(): string[] {
    return [...this.services.keys()];
  }

  /** Generates the events of the time elapsed since the last advance (at most 5 s of them). */
  advance(): void {
    const nowMs = this.now();
    const elapsed = (nowMs - this.lastAdvanceMs) / 1000;
    if (elapsed <= 0) return;
    this.lastAdvanceMs = nowMs;
    const seconds = Math.min(elapsed, MAX_STEP_SECONDS);
    for (const service of this.services.values()) {
      service.step(seconds, nowMs / 1000);
    }
  }

  /** The service's metrics in the Prometheus text exposition format, brought up to now. */
  async metrics(service: string): Promise<string> {
    const simulated = this.service(service);
    this.advance();
    return simulated.registry.metrics();
  }

  /**
   * Switches a fault on for a service, replacing one of the same kind. Throws a NotFoundError for an
   * unknown service and an InputError naming the field for an unknown kind or bad parameters.
   */
  setFault(service: string, kind: string, params?: unknown): ActiveFault {
    const simulated = this.service(service);
    if (!isFaultKind(kind)) {
      throw new InputError(
        `kind: "${kind}" is not a fault; known: ${FAULT_KINDS.join(', ')}`,
      );
    }
    const fault = {
      service,
      kind,
      params: parseFaultParams(kind, params, simulated.venues),
      since: new Date(this.now()).toISOString(),
    } as ActiveFault;
    // The time until now ran without the fault.
    this.advance();
    simulated.setFault(fault);
    this.showNow(simulated);
    return fault;
  }

  /** Switches a fault off; false when it was not on. */
  clearFault(service: string, kind: string): boolean {
    const simulated = this.service(service);
    if (!isFaultKind(kind)) {
      throw new InputError(
        `kind: "${kind}" is not a fault; known: ${FAULT_KINDS.join(', ')}`,
      );
    }
    this.advance();
    const cleared = simulated.clearFault(kind);
    this.showNow(simulated);
    return cleared;
  }

  /** Switches every fault of every service off. */
  clearAll(): void {
    this.advance();
    for (const service of this.services.values()) {
      for (const fault of service.faults()) service.clearFault(fault.kind);
      this.showNow(service);
    }
  }

  /** The faults switched on, of one service or of all. */
  faults(service?: string): ActiveFault[] {
    if (service !== undefined) return this.service(service).faults();
    return [...this.services.values()].flatMap(s => s.faults());
  }

  /** Starts advancing every 250 ms, without HTTP; the timer does not keep the process alive. */
  start(): void {
    if (this.ticker) return;
    this.ticker = setInterval(() => this.advance(), TICK_MS);
    this.ticker.unref();
  }

  /** Stops advancing on a timer; scrapes still advance. */
  stop(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /** Serves the HTTP API and starts the ticker; resolves with the bound port. */
  async listen(options: { port: number; host?: string }): Promise<number> {
    if (this.server) throw new Error('The simulator is already listening');
    const server = createServer(createRequestHandler(this));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.start();
    return (server.address() as AddressInfo).port;
  }

  /** Stops the ticker and the HTTP server, closing open connections. */
  async close(): Promise<void> {
    this.stop();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>(resolve => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Brings the gauges in line with a changed fault at once, not at the next tick. */
  private showNow(service: SimulatedService): void {
    service.step(0, this.lastAdvanceMs / 1000);
  }

  private service(name: string): SimulatedService {
    const service = this.services.get(name);
    if (!service) {
      throw new NotFoundError(
        `service: "${name}" is not simulated; known: ${this.serviceNames().join(
          ', ',
        )}`,
      );
    }
    return service;
  }
}
