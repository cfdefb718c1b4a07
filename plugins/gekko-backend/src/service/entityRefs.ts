import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';

/**
 * Normalizes a full entity ref (`kind:namespace/name`, namespace optional) to its canonical
 * lower-case form, or throws a 400 that names the field.
 */
export function normalizeEntityRef(value: string, field: string): string {
  try {
    const ref = parseEntityRef(value);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(ref.name)) {
      throw new Error('bad name');
    }
    return stringifyEntityRef(ref).toLocaleLowerCase('en-US');
  } catch {
    throw new InputError(
      `Invalid ${field}: "${value}" is not an entity reference; use kind:namespace/name, e.g. component:default/trading-engine`,
    );
  }
}
