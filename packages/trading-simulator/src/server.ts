import { InputError, NotFoundError } from '@backstage/errors';
import type {
  IncomingMessage,
  RequestListener,
  ServerResponse,
} from 'node:http';
import { Registry } from 'prom-client';
import type { TradingSimulator } from './TradingSimulator';

/** The largest request body accepted: fault parameters are a few bytes. */
const MAX_BODY_BYTES = 16 * 1024;

/** An HTTP status with no Backstage error class of its own (405, 413). */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const bodyTooLarge = () =>
  new HttpError(413, `body: must be at most ${MAX_BODY_BYTES} bytes`, {
    // The rest of the body is not read: close rather than leave it in the connection.
    connection: 'close',
  });

interface Reply {
  status: number;
  json?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

interface RouteContext {
  simulator: TradingSimulator;
  request: IncomingMessage;
  /** The decoded path segments the route's pattern captured. */
  params: string[];
  baseUrl: string;
}

type Handler = (context: RouteContext) => Promise<Reply> | Reply;

const ROUTES: Array<{ path: RegExp; methods: Record<string, Handler> }> = [
  {
    path: /^\/services$/,
    methods: {
      GET: ({ simulator, baseUrl }) => ({
        status: 200,
        json: {
          services: simulator.serviceNames().map(name => ({
            name,
            metricsUrl: `${baseUrl}/services/${encodeURIComponent(
              name,
            )}/metrics`,
            faults: simulator.faults(name),
          })),
        },
      }),
    },
  },
  {
    path: /^\/services\/([^/]+)\/metrics$/,
    methods: {
      GET: async ({ simulator, params: [name] }) => ({
        status: 200,
        text: await simulator.metrics(name),
      }),
    },
  },
  {
    path: /^\/faults$/,
    methods: {
      GET: ({ simulator }) => ({
        status: 200,
        json: { faults: simulator.faults() },
      }),
      DELETE: ({ simulator }) => {
        simulator.clearAll();
        return { status: 204 };
      },
    },
  },
  {
    path: /^\/services\/([^/]+)\/faults\/([^/]+)$/,
    methods: {
      PUT: async ({ simulator, request, params: [name, kind] }) => {
        const params = await readJsonBody(request);
        return {
          status: 200,
          json: { fault: simulator.setFault(name, kind, params) },
        };
      },
      DELETE: ({ simulator, params: [name, kind] }) => {
        simulator.clearFault(name, kind);
        return { status: 204 };
      },
    },
  },
];

function readBody(request: IncomingMessage): Promise<string> {
  if (Number(request.headers['content-length']) > MAX_BODY_BYTES) {
    return Promise.reject(bodyTooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(bodyTooLarge());
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Reads a JSON body of at most 16 KiB; an empty body is `{}`. */
async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const text = (await readBody(request)).trim();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(
      `body: is not valid JSON (${(error as Error).message})`,
    );
  }
}

function decodeSegments(match: RegExpExecArray): string[] {
  try {
    return match.slice(1).map(segment => decodeURIComponent(segment));
  } catch {
    throw new InputError('path: holds a malformed %-escape');
  }
}

async function route(
  simulator: TradingSimulator,
  request: IncomingMessage,
): Promise<Reply> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  for (const { path: pattern, methods } of ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    const handler = methods[request.method ?? ''];
    if (!handler) {
      const allowed = Object.keys(methods).join(', ');
      throw new HttpError(
        405,
        `${request.method} ${path}: method not allowed; allowed: ${allowed}`,
        { allow: allowed },
      );
    }
    const baseUrl = `http://${request.headers.host ?? 'localhost'}`;
    return handler({
      simulator,
      request,
      params: decodeSegments(match),
      baseUrl,
    });
  }
  throw new NotFoundError(
    `${path}: no such route; see GET /services, GET /services/:name/metrics, GET|DELETE /faults, PUT|DELETE /services/:name/faults/:kind`,
  );
}

function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  if (error instanceof InputError) return 400;
  if (error instanceof NotFoundError) return 404;
  return 500;
}

function send(response: ServerResponse, reply: Reply): void {
  const headers = { ...reply.headers };
  let body: string | undefined;
  if (reply.text !== undefined) {
    headers['content-type'] = Registry.PROMETHEUS_CONTENT_TYPE;
    body = reply.text;
  } else if (reply.json !== undefined) {
    headers['content-type'] = 'application/json; charset=utf-8';
    body = JSON.stringify(reply.json);
  }
  response.writeHead(reply.status, headers).end(body);
}

/**
 * The simulator's HTTP API. Errors answer `{ error: { message } }` with 400, 404, 405 or 413; an
 * unexpected one answers 500 without its stack.
 */
export function createRequestHandler(
  simulator: TradingSimulator,
): RequestListener {
  return (request, response) => {
    route(simulator, request).then(
      reply => send(response, reply),
      error => {
        const status = statusOf(error);
        const message =
          status === 500 ? 'internal error' : (error as Error).message;
        const headers = error instanceof HttpError ? error.headers : {};
        send(response, { status, headers, json: { error: { message } } });
        request.resume();
      },
    );
  };
}
