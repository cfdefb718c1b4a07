import { InputError } from '@backstage/errors';

/** The faults a simulated service can be given at run time. @public */
export const FAULT_KINDS = [
  'latency-spike',
  'venue-disconnect',
  'throughput-drop',
  'error-burst',
  'memory-leak',
] as const;

/** One of {@link FAULT_KINDS}. @public */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The parameters of each fault, defaults filled in. @public */
export interface FaultParamsByKind {
  /** Every latency is multiplied by `factor` (over 1; default 5). */
  'latency-spike': { factor: number };
  /** The connection to `venue` is down: gauge 0, no messages, no market data from it. */
  'venue-disconnect': { venue: string };
  /** Event and update rates are multiplied by `factor` (0 to 1; default 0.3). */
  'throughput-drop': { factor: number };
  /** This share of requests (0 to 1; default 0.05) ends with outcome `error`. */
  'error-burst': { ratio: number };
  /** Resident memory grows by `bytesPerSecond` (default 2 MB/s) until the fault is cleared. */
  'memory-leak': { bytesPerSecond: number };
}

/** A fault switched on for one service. @public */
export type ActiveFault = {
  [K in FaultKind]: {
    service: string;
    kind: K;
    params: FaultParamsByKind[K];
    /** ISO time the fault was set. */
    since: string;
  };
}[FaultKind];

/** Whether `kind` names a fault. @public */
export function isFaultKind(kind: string): kind is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(kind);
}

type Params = Record<string, unknown>;

function numberParam(
  params: Params,
  field: string,
  fallback: number,
  accepts: (value: number) => boolean,
  requirement: string,
): number {
  const value = params[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || !accepts(value)) {
    throw new InputError(
      `${field}: must be ${requirement}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function venueParam(params: Params, venues: readonly string[]): string {
  const value = params.venue;
  if (venues.length === 0) {
    throw new InputError('venue: this service connects to no venue');
  }
  if (value === undefined && venues.length === 1) return venues[0];
  if (typeof value !== 'string' || !venues.includes(value)) {
    const got = value === undefined ? 'nothing' : JSON.stringify(value);
    throw new InputError(
      `venue: must be one of ${venues.join(', ')}, got ${got}`,
    );
  }
  return value;
}

const PARAMETERS: {
  [K in FaultKind]: {
    fields: string[];
    read: (params: Params, venues: readonly string[]) => FaultParamsByKind[K];
  };
} = {
  'latency-spike': {
    fields: ['factor'],
    read: p => ({
      factor: numberParam(p, 'factor', 5, n => n > 1, 'a number over 1'),
    }),
  },
  'venue-disconnect': {
    fields: ['venue'],
    read: (p, venues) => ({ venue: venueParam(p, venues) }),
  },
  'throughput-drop': {
    fields: ['factor'],
    read: p => ({
      factor: numberParam(
        p,
        'factor',
        0.3,
        n => n >= 0 && n < 1,
        'a number from 0 up to (not including) 1',
      ),
    }),
  },
  'error-burst': {
    fields: ['ratio'],
    read: p => ({
      ratio: numberParam(
        p,
        'ratio',
        0.05,
        n => n >= 0 && n <= 1,
        'a number from 0 to 1',
      ),
    }),
  },
  'memory-leak': {
    fields: ['bytesPerSecond'],
    read: p => ({
      bytesPerSecond: numberParam(
        p,
        'bytesPerSecond',
        2_000_000,
        n => n > 0,
        'a number over 0',
      ),
    }),
  },
};

/**
 * Checks the parameters of a fault and fills in the defaults; `venues` are the service's own.
 * Throws an InputError naming the field and the problem.
 */
export function parseFaultParams<K extends FaultKind>(
  kind: K,
  input: unknown,
  venues: readonly string[],
): FaultParamsByKind[K] {
  const params = input ?? {};
  if (typeof params !== 'object' || Array.isArray(params)) {
    throw new InputError(
      `body: must be a JSON object of the fault's parameters, got ${JSON.stringify(
        input,
      )}`,
    );
  }
  const { fields, read } = PARAMETERS[kind];
  for (const field of Object.keys(params)) {
    if (!fields.includes(field)) {
      throw new InputError(
        `${field}: is not a parameter of ${kind}; it takes ${fields.join(
          ', ',
        )}`,
      );
    }
  }
  return read(params as Params, venues);
}
