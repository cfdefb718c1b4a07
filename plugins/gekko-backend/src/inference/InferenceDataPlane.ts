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

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(tooLarge());
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(tooLarge());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () =>
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)),
    );
    req.on('error', reject);
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
  private readonly verified = new Map<
    string,
    { credentials: BackstageCredentials; until: number }
  >();

  constructor(private readonly options: InferenceDataPlaneOptions) {}

  /** Starts listening; resolves with the address clients should use. */
  async start(): Promise<string> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
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

  private async authenticate(
    token: string,
    address: string,
  ): Promise<BackstageCredentials> {
    const now = Date.now();
    const hit = this.verified.get(token);
    if (hit && hit.until > now) return hit.credentials;
    // An address that keeps sending bad tokens gets a 429 before the next costly verification.
    const { limits } = this.options;
    limits?.checkAddress(address, 'data-plane');
    let credentials: BackstageCredentials;
    try {
      credentials = await this.options.auth.authenticate(token);
    } catch (error) {
      limits?.authenticationFailed(address);
      throw error;
    }
    const expiresAt = (
      credentials as { expiresAt?: Date }
    ).expiresAt?.getTime();
    if (this.verified.size >= 1000) this.verified.clear();
    this.verified.set(token, {
      credentials,
      until: Math.min(now + 5000, expiresAt ?? Infinity),
    });
    return credentials;
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

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const given = req.headers['x-request-id'];
    const requestId =
      typeof given === 'string' && REQUEST_ID.test(given)
        ? given
        : randomUUID();
    res.setHeader('x-request-id', requestId);
    const url = req.url ?? '/';
    const path = url.split('?')[0];
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
      const address = req.socket.remoteAddress;
      const credentials = await this.authenticate(token, address ?? 'unknown');
      if (
        !this.options.auth.isPrincipal(credentials, 'user') &&
        !this.options.auth.isPrincipal(credentials, 'service')
      ) {
        throw new AuthenticationError('Only users and services may predict');
      }
      const caller: Caller = {
        credentials,
        actor: actorOf(credentials),
        requestId,
        ...(address ? { address } : {}),
      };
      await this.options.limits?.admit('predict', caller, {
        method: req.method,
        path,
        server: 'data-plane',
      });
      await this.options.guard.authorizeCaller(
        caller,
        gekkoInferenceInvokePermission,
        {
          action: 'inference.invoke',
          target: null,
          what: 'run models through the inference gateway',
          cacheable: true,
        },
        { method: req.method, path },
      );
      const name = this.modelName(match[1]);
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
      const binary = type === 'application/octet-stream';
      if (!binary && type !== 'application/json') {
        throw unsupportedPredictType(type);
      }
      const raw = await readBody(req, PREDICT_BODY_LIMIT_BYTES);
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
      const result = await this.options.gateway.predict({
        model: name,
        ...input,
      });
      if ((req.headers.accept ?? '').includes('application/octet-stream')) {
        const out = toBinaryResponse(result);
        res.writeHead(200, out.headers);
        res.end(out.body);
        return;
      }
      const json = JSON.stringify(toResponse(result));
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(json),
      });
      res.end(json);
    } catch (error) {
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
      });
      res.end(json);
      if (!req.complete) req.resume();
    }
  }
}
