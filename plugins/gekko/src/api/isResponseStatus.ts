import { ResponseError } from '@backstage/errors';

/** Whether an error is a backend response with the given HTTP status. */
export function isResponseStatus(error: unknown, statusCode: number): boolean {
  return ResponseError.is(error) && error.statusCode === statusCode;
}
