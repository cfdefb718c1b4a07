import { InputError } from '@backstage/errors';
import { z } from 'zod';

/** Lower-case DNS label, as Kubernetes and the catalog accept for names. */
export const dnsLabel = z
  .string()
  .min(1, 'must not be empty')
  .max(63, 'must be at most 63 characters')
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    'must be lower-case letters, digits and dashes, starting and ending with a letter or digit',
  );

/**
 * A name in a URL path or query (`pool`, `model`): a lower-case DNS label, with a message that says
 * what kind of name it is.
 *
 * @public
 */
export function resourceName(kind: string) {
  return z
    .string()
    .max(63, 'must be at most 63 characters')
    .regex(
      /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
      `must be a ${kind} name: lower-case letters, digits and dashes`,
    );
}

/** Formats zod issues as `field: problem; field: problem`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map(issue => {
      const field = issue.path.length ? issue.path.join('.') : '(body)';
      if (issue.code === 'unrecognized_keys') {
        return `${issue.keys
          .map(k => (issue.path.length ? `${field}.${k}` : k))
          .join(', ')}: unknown field`;
      }
      return `${field}: ${issue.message}`;
    })
    .join('; ');
}

/**
 * Parses a value with a schema, or throws an `InputError` (HTTP 400) whose message names each bad
 * field and what is wrong with it.
 *
 * @public
 */
export function parseInput<T extends z.ZodTypeAny>(
  schema: T,
  value: unknown,
  what: string,
): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new InputError(`Invalid ${what}: ${describeIssues(result.error)}`);
  }
  return result.data;
}
