import { ResponseError } from '@backstage/errors';

/**
 * The message of an error as a person should read it: for a backend response, the backend's own
 * message ("The GPU manager is not running") rather than "Request failed with 503".
 */
export function backendMessage(error: Error): string {
  return ResponseError.is(error) ? error.cause.message : error.message;
}
