import { LoggerService } from '@backstage/backend-plugin-api';
import {
  InputError,
  serializeError,
  ServiceUnavailableError,
} from '@backstage/errors';
import express, { ErrorRequestHandler, RequestHandler } from 'express';
import { randomUUID } from 'node:crypto';

/** Largest JSON body any gekko route accepts. */
export const BODY_LIMIT_BYTES = 64 * 1024;

export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** The request id of a request: the caller's `x-request-id` when well-formed, else a new one. */
export function requestIdOf(req: express.Request): string {
  return (req.res?.locals.requestId as string | undefined) ?? 'unknown';
}

/** Gives every request an id, echoed in `x-request-id` and stored in audit records. */
export const assignRequestId: RequestHandler = (req, res, next) => {
  const given = req.header('x-request-id');
  const id = given && REQUEST_ID.test(given) ? given : randomUUID();
  res.locals.requestId = id;
  res.setHeader('x-request-id', id);
  next();
};

/** An HTTP error with a status Backstage's error names do not cover (413, 415, 429, 504). */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    name: string,
    message: string,
    /** Headers of the answer, e.g. `Retry-After`. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = name;
  }
}

/** A 429: the caller is over a rate limit; `Retry-After` says when to try again, in whole seconds. */
export class TooManyRequestsError extends HttpError {
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(429, 'TooManyRequestsError', message, {
      'retry-after': String(retryAfterSeconds),
    });
  }
}

/**
 * Parses JSON bodies of mutating requests: anything else than a JSON object under the limit gets a
 * 4xx that says what to send instead.
 */
export function jsonBody(): RequestHandler[] {
  const parse = express.json({ limit: BODY_LIMIT_BYTES, strict: true });
  const requireJson: RequestHandler = (req, _res, next) => {
    const hasBody =
      Number(req.header('content-length') ?? 0) > 0 ||
      req.header('transfer-encoding') !== undefined;
    if (['POST', 'PUT', 'PATCH'].includes(req.method) && hasBody) {
      if (!req.is('application/json')) {
        next(
          new HttpError(
            415,
            'UnsupportedMediaTypeError',
            `Send the body as JSON with Content-Type: application/json (got ${
              req.header('content-type') ?? 'no Content-Type'
            })`,
          ),
        );
        return;
      }
    }
    next();
  };
  const explainParseErrors = explainBodyErrors(
    `The request body is larger than the ${BODY_LIMIT_BYTES / 1024} KiB limit`,
  );
  return [requireJson, parse, explainParseErrors];
}

/**
 * Turns body-parser failures into 4xx that say what to send: 413 with `tooLarge`, 400 for
 * malformed JSON or an unreadable body.
 */
export function explainBodyErrors(tooLarge: string): RequestHandler {
  const explain: ErrorRequestHandler = (error, _req, _res, next) => {
    if (error?.type === 'entity.too.large') {
      next(new HttpError(413, 'PayloadTooLargeError', tooLarge));
    } else if (error?.type === 'entity.parse.failed') {
      next(
        new InputError(
          `Malformed JSON body: ${error.message}. Send one JSON object`,
        ),
      );
    } else if (typeof error?.type === 'string' && error.status < 500) {
      next(new InputError(`Unreadable request body: ${error.message}`));
    } else {
      next(error);
    }
  };
  return explain as unknown as RequestHandler;
}

/**
 * Answers errors in Backstage's error body shape, never with a stack trace: 4xx say what was wrong;
 * anything else is logged and answered with a 500 that names the request id to look for.
 */
export function errorHandler(logger: LoggerService): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const { statusCode, body, headers } = errorResponse(
      error,
      { method: req.method, url: req.originalUrl, id: requestIdOf(req) },
      logger,
    );
    res.status(statusCode).set(headers).json(body);
  };
}

/**
 * The status, Backstage-shaped body and extra headers (`Retry-After` of a 429) for an error: 4xx,
 * and the 503 and 504 of a request no worker could answer in time, say what was wrong; anything
 * else is logged and answered with a 500 that names the request id, never with a stack.
 */
export function errorResponse(
  error: unknown,
  request: { method: string; url: string; id: string },
  logger: LoggerService,
): { statusCode: number; body: object; headers: Record<string, string> } {
  const statusCode = statusOf(error);
  let body = serializeError(error as Error, { includeStack: false });
  if (isDeliberateUnavailability(error, statusCode)) {
    logger.warn(
      `${request.method} ${request.url} answered ${statusCode} (request ${request.id}): ${body.message}`,
    );
  } else if (statusCode >= 500) {
    logger.error(
      `${request.method} ${request.url} failed (request ${request.id})`,
      error as Error,
    );
    body = {
      name: 'InternalServerError',
      message: `The gekko backend failed to handle this request; look for request id ${request.id} in its logs`,
    };
  }
  return {
    statusCode,
    headers:
      (statusCode < 500 && error instanceof HttpError && error.headers) || {},
    body: {
      error: { name: body.name, message: body.message },
      request,
      response: { statusCode },
    },
  };
}

/**
 * A 503 or 504 the gekko code raises on purpose (no worker can take the request, its deadline
 * passed): its message says what happened and what to do, and holds nothing internal, so the caller
 * gets it, as the API documents. Any other 5xx is a failure, answered without its message.
 */
function isDeliberateUnavailability(error: unknown, statusCode: number) {
  return (
    (statusCode === 503 || statusCode === 504) &&
    (error instanceof HttpError || error instanceof ServiceUnavailableError)
  );
}

const STATUS_BY_NAME: Record<string, number> = {
  InputError: 400,
  AuthenticationError: 401,
  NotAllowedError: 403,
  NotFoundError: 404,
  ConflictError: 409,
  NotImplementedError: 501,
  ServiceUnavailableError: 503,
};

function statusOf(error: any): number {
  for (const field of ['statusCode', 'status']) {
    const code = error?.[field];
    if (Number.isInteger(code) && code >= 400 && code <= 599) return code;
  }
  return STATUS_BY_NAME[error?.name] ?? 500;
}
