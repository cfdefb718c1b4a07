import {
  AuthService,
  BackstageCredentials,
  LoggerService,
} from '@backstage/backend-plugin-api';
import {
  AuthenticationError,
  InputError,
  NotFoundError,
} from '@backstage/errors';
import {
  gekkoInferenceInvokePermission,
  parseInput,
  resourceName,
} from '@gekko/plugin-gekko-common';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AccessGuard, actorOf, Caller } from '../service/AccessGuard';
import type { CallerRateLimits } from '../service/CallerRateLimits';
import { errorResponse, HttpError, REQUEST_ID } from '../service/http';
import { InferenceGateway } from './InferenceGateway';
import {
  PREDICT_ATTEMPT,
  PREDICT_BODY_LIMIT_BYTES,
  PREDICT_TOO_LARGE,
  readPredictBody,
  toBinaryResponse,
  toResponse,
  unsupportedPredictType,
} from './predictCodec';

const PREDICT_PATH = /^\/api\/gekko\/inference\/models\/([^/]+)\/predict$/;
const modelName = z.object({ name: resourceName('model') });

/** Options of an {@link InferenceDataPlane}. */
export interface InferenceDataPlaneOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  auth: AuthService;
  guard: AccessGuard;
  gateway: InferenceGateway;
  logger: LoggerService;
  /** Predict per caller, after the token is verified; failed verifications per address. */
  limits?: CallerRateLimits;
}

/**
 * Reads the body into one buffer and calls `done` with it, or with a 413 past `limit`: with
 * callbacks, not a promise, as this is on every predict's path.
 */
function readBody(
  req: http.IncomingMessage,
  limit: number,
  done: (error: unknown, body?: Buffer) => void,
): void {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    done(tooLarge());
    req.resume();
    return;
  }
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let size = 0;
  let settled = false;
  req.on('data', (chunk: Buffer) => {
    if (settled) return;
    size += chunk.length;
    if (size > limit) {
      settled = true;
      done(tooLarge());
      req.destroy();
      return;
    }
    if (!first) first = chunk;
    else (chunks ??= [first]).push(chunk);
  });
  req.on('end', () => {
    if (settled) return;
    settled = true;
    done(undefined, chunks ? Buffer.concat(chunks) : first ?? Buffer.alloc(0));
  });
  req.on('error', error => {
    if (settled) return;
    settled = true;
    done(error);
  });
}

/** A percent-encoded path segment; bad encoding (`%E0%A4%A`) is a 400, as Express answers it. */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InputError(
      `Invalid model: name: ${segment} is not valid percent-encoding`,
    );
  }
}

function tooLarge() {
  return new HttpError(413, 'PayloadTooLargeError', PREDICT_TOO_LARGE);
}

/**
 * The inference data plane: the predict route on a port of its own, served by a bare `node:http`
 * server instead of Backstage's Express stack (helmet, CORS, compression, routing), as Triton and
 * KServe keep inference off their management API. Same path, bodies, answers and errors as
 * `POST /api/gekko/inference/models/{name}/predict` on the portal, and the same security: the
 * Backstage token is checked by the auth service, the caller's predict rate limit (shared with the
 * portal route) before `gekko.inference.invoke` by the permission framework, and a denial is a 403
 * with an audit record.
 */
export class InferenceDataPlane {
  private server: http.Server | undefined;
  /**
   * Tokens this server verified, for 5 s at most (never past a token's own expiry): verifying a
   * Backstage token costs more than a batch-1 inference, and a trading service sends the same token
   * thousands of times a second. Failed verifications are never cached.
   */
  private readonly verified = new Map<string, Verified>();

  constructor(private readonly options: InferenceDataPlaneOptions) {}

  /** Starts listening; resolves with the address clients should use. */
  async start(): Promise<string> {
    const server = http.createServer((req, res) => {
      try {
        this.handle(req, res);
      } catch {
        res.destroy();
      }
    });
    server.keepAliveTimeout = 65_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const host = this.options.host.includes(':')
      ? `[${this.options.host}]`
      : this.options.host;
    const url = `http://${host}:${port}`;
    this.options.logger.info(`Inference data plane listening on ${url}`);
    return url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeIdleConnections?.();
    await new Promise<void>(resolve => server.close(() => resolve()));
  }

  /**
   * The credentials of `token`, verified by the auth service unless this server verified it less
   * than 5 s ago, with whether they may predict at all (a user or a service).
   */
  private async authenticate(
    token: string,
    address: string,
  ): Promise<Verified> {
    const now = Date.now();
    const hit = this.verified.get(token);
    if (hit && hit.until > now) return hit;
    // An address that keeps sending bad tokens gets a 429 before the next costly verification.
    const { auth, limits } = this.options;
    limits?.checkAddress(address, 'data-plane');
    let credentials: BackstageCredentials;
    try {
      credentials = await auth.authenticate(token);
    } catch (error) {
      limits?.authenticationFailed(address);
      throw error;
    }
    const expiresAt = (
      credentials as { expiresAt?: Date }
    ).expiresAt?.getTime();
    if (this.verified.size >= 1000) this.verified.clear();
    const verified: Verified = {
      credentials,
      actor: actorOf(credentials),
      mayPredict:
        auth.isPrincipal(credentials, 'user') ||
        auth.isPrincipal(credentials, 'service'),
      until: Math.min(now + 5000, expiresAt ?? Infinity),
    };
    this.verified.set(token, verified);
    return verified;
  }

  /**
   * Model names seen valid, by their path segment: zod validating the same name on every request
   * costs a few percent of a batch-1 predict. Only valid names are kept, at most 1,000.
   */
  private readonly validNames = new Map<string, string>();

  private modelName(segment: string): string {
    const known = this.validNames.get(segment);
    if (known !== undefined) return known;
    const { name } = parseInput(
      modelName,
      { name: decodePathSegment(segment) },
      'model',
    );
    if (this.validNames.size >= 1000) this.validNames.clear();
    this.validNames.set(segment, name);
    return name;
  }

  /**
   * One request, through the checks in the order the portal route makes them: route, method, token,
   * rate limit, permission, model name, content type, body, gateway. A caller whose token, rate-limit
   * token and permission are all at hand (a verified token less than 5 s old, a cached ALLOW) goes
   * through without a promise until the gateway's; any other goes through {@link admitSlowly}, which
   * verifies, refuses and audits exactly as before. No `async` here: each promise layer on this path
   * is one more that every request's objects live through.
   */
  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const given = req.headers['x-request-id'];
    const requestId =
      typeof given === 'string' && REQUEST_ID.test(given)
        ? given
        : randomUUID();
    const url = req.url ?? '/';
    const path = url.split('?')[0];
    // Also called from socket events and promise callbacks: it must never throw.
    const failed = (error: unknown) => {
      try {
        this.fail(req, res, url, requestId, error);
      } catch {
        res.destroy();
      }
    };
    try {
      const match = PREDICT_PATH.exec(path);
      if (!match) {
        throw new NotFoundError(
          `The inference data plane serves only POST /api/gekko/inference/models/{name}/predict, not ${req.method} ${path}`,
        );
      }
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        throw new HttpError(
          405,
          'MethodNotAllowedError',
          `Use POST for ${path}`,
        );
      }
      const authorization = req.headers.authorization ?? '';
      const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
      if (!token) {
        throw new AuthenticationError(
          'Send a Backstage token as Authorization: Bearer <token> (a user token, or a static token from backend.auth.externalAccess)',
        );
      }
      const { guard, limits } = this.options;
      const hit = this.verified.get(token);
      if (
        hit &&
        hit.mayPredict &&
        hit.until > Date.now() &&
        guard.allowedNow(hit.actor, gekkoInferenceInvokePermission) &&
        (!limits || limits.tryAdmit('predict', hit.actor))
      ) {
        this.receive(req, res, match[1], requestId, failed);
        return;
      }
      this.admitSlowly(req, token, requestId, path)
        .then(() => this.receive(req, res, match[1], requestId, failed))
        .catch(failed);
    } catch (error) {
      failed(error);
    }
  }

  /**
   * Authentication, rate limit and permission the long way, for a request the hot path did not admit
   * (it took no rate-limit token then): the token verified unless cached, the caller's rate-limit
   * token taken or a 429 (audited once a minute), the permission framework asked unless an ALLOW is
   * cached (a denial is a 403 with an audit record).
   */
  private async admitSlowly(
    req: http.IncomingMessage,
    token: string,
    requestId: string,
    path: string,
  ): Promise<void> {
    const address = req.socket.remoteAddress;
    const verified = await this.authenticate(token, address ?? 'unknown');
    if (!verified.mayPredict) {
      throw new AuthenticationError('Only users and services may predict');
    }
    const caller: Caller = {
      credentials: verified.credentials,
      actor: verified.actor,
      requestId,
      ...(address ? { address } : {}),
    };
    await this.options.limits?.admit('predict', caller, {
      method: req.method!,
      path,
      server: 'data-plane',
    });
    await this.options.guard.authorizeCaller(
      caller,
      gekkoInferenceInvokePermission,
      PREDICT_ATTEMPT,
      { method: req.method!, path },
    );
  }

  /** The admitted request: its model name, content type and body, then the gateway. */
  private receive(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    segment: string,
    requestId: string,
    failed: (error: unknown) => void,
  ): void {
    const name = this.modelName(segment);
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
    const binary = type === 'application/octet-stream';
    if (!binary && type !== 'application/json') {
      throw unsupportedPredictType(type);
    }
    readBody(req, PREDICT_BODY_LIMIT_BYTES, (error, raw) => {
      if (error) {
        failed(error);
        return;
      }
      try {
        this.predict(req, res, name, binary, raw!, requestId).then(
          undefined,
          failed,
        );
      } catch (thrown) {
        failed(thrown);
      }
    });
  }

  private predict(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    name: string,
    binary: boolean,
    raw: Buffer,
    requestId: string,
  ): Promise<void> {
    let body: unknown = raw;
    if (!binary) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch (error) {
        throw new InputError(
          `Malformed JSON body: ${
            (error as Error).message
          }. Send one JSON object`,
        );
      }
    }
    const input = readPredictBody({
      binary,
      header: h => {
        const v = req.headers[h.toLowerCase()];
        return Array.isArray(v) ? v[0] : v;
      },
      body,
    });
    return this.options.gateway
      .predict({ model: name, ...input })
      .then(result => {
        if ((req.headers.accept ?? '').includes('application/octet-stream')) {
          const out = toBinaryResponse(result);
          res.writeHead(200, { ...out.headers, 'x-request-id': requestId });
          res.end(out.body);
          return;
        }
        const json = JSON.stringify(toResponse(result));
        // Every header in one object, none set before: the response's fastest path in node:http.
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(json),
          'x-request-id': requestId,
        });
        res.end(json);
      });
  }

  /** Answers `error` as the portal would: its status, a JSON body naming the problem, no stack. */
  private fail(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: string,
    requestId: string,
    error: unknown,
  ): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const { statusCode, body, headers } = errorResponse(
      error,
      { method: req.method ?? 'GET', url, id: requestId },
      this.options.logger,
    );
    const json = JSON.stringify(body);
    if (!req.complete) res.setHeader('connection', 'close');
    res.writeHead(statusCode, {
      ...headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(json),
      'x-request-id': requestId,
    });
    res.end(json);
    if (!req.complete) req.resume();
  }
}

/** A token this server verified, with what the hot path needs of it. */
interface Verified {
  credentials: BackstageCredentials;
  actor: string;
  /** Whether the principal may predict at all (a user or a service). */
  mayPredict: boolean;
  /** Until when (epoch ms) it is reused without asking the auth service again. */
  until: number;
}
