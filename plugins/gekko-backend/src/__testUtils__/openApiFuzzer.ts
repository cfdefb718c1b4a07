import fs from 'node:fs';
import yaml from 'yaml';

/*
 * Requests generated from an OpenAPI document, for fuzz tests: every operation, its path, query and
 * body, with malformed JSON, wrong types, huge and odd values, path traversal and unicode in ids,
 * and content-type mismatches. Everything comes from a seeded PRNG, so a seed and a request number
 * replay a request exactly.
 */

type Schema = Record<string, any>;

/** A small fast PRNG (mulberry32): the same seed gives the same sequence. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The PRNG of request `n` under `seed`, independent of the requests before it. */
  static of(seed: number, n: number): Rng {
    return new Rng(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ (n * 0xc2b2ae35));
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** One parameter of an operation. */
export interface OperationParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Schema;
}

/** One operation of the document, its `$ref`s and `allOf`s resolved. */
export interface Operation {
  /** `METHOD /path/{param}`, as the document writes it. */
  key: string;
  method: string;
  path: string;
  parameters: OperationParameter[];
  body?: { required: boolean; schema?: Schema; contentTypes: string[] };
  /** Status codes the document names. */
  statuses: string[];
}

/** Reads every operation of an OpenAPI 3 document. */
export function readOperations(file: string): Operation[] {
  const doc = yaml.parse(fs.readFileSync(file, 'utf8'));
  const resolve = (node: any): any => {
    if (Array.isArray(node)) return node.map(resolve);
    if (!node || typeof node !== 'object') return node;
    if (typeof node.$ref === 'string') {
      const target = node.$ref
        .replace(/^#\//, '')
        .split('/')
        .reduce((n: any, k: string) => n[k], doc);
      return resolve(target);
    }
    if (Array.isArray(node.allOf)) {
      const parts = node.allOf.map(resolve);
      const merged: Schema = { type: 'object', properties: {}, required: [] };
      for (const part of parts) {
        Object.assign(merged.properties, part.properties ?? {});
        merged.required.push(...(part.required ?? []));
        if (part.additionalProperties === false) {
          merged.additionalProperties = false;
        }
      }
      return merged;
    }
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [k, resolve(v)]),
    );
  };
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    const shared = (item.parameters ?? []).map(resolve);
    for (const [method, op] of Object.entries<any>(item)) {
      if (method === 'parameters') continue;
      const own = (op.parameters ?? []).map(resolve);
      const content = op.requestBody ? resolve(op.requestBody).content : {};
      operations.push({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        parameters: [...shared, ...own].map(p => ({
          name: p.name,
          in: p.in,
          required: !!p.required,
          schema: p.schema ?? {},
        })),
        ...(op.requestBody
          ? {
              body: {
                required: !!op.requestBody.required,
                schema: content['application/json']?.schema,
                contentTypes: Object.keys(content),
              },
            }
          : {}),
        statuses: Object.keys(op.responses ?? {}),
      });
    }
  }
  return operations;
}

/** Strings that break naive code: traversal, encodings, unicode, control characters, injections. */
export const ODD_STRINGS = [
  '',
  ' ',
  '..',
  '../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%2e%2e%2f%2e%2e%2f',
  '%252e%252e%252f',
  '%00',
  '\u0000',
  '%',
  '%E0%A4%A',
  'a%2Fb',
  '\u202e\u0645\u0631\u062d\u0628\u0627', // right-to-left override, Arabic
  '\u{1F680}\u{1F4A5}', // emoji
  'e\u0301\u200b\u200d', // combining accent, zero-width characters
  '\ud800', // a lone surrogate
  'ＡＢＣ', // full-width letters
  'İıﬁß',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '${7*7}{{7*7}}',
  '__proto__',
  'constructor',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  'CON',
  'a'.repeat(300),
  'x'.repeat(5000),
];

/** Numbers at the edges: huge, tiny, negative, negative zero, past 2^53. */
export const ODD_NUMBERS = [
  0,
  -0,
  -1,
  0.5,
  -1e-9,
  5e-324,
  1e21,
  1e308,
  -1e308,
  2 ** 53 + 1,
  -(2 ** 31) - 1,
  2 ** 32,
  123456789012345680000,
];

const STRING_SAMPLES = [
  'fuzz',
  'fuzz-a1',
  'v1',
  'fuzz.event',
  '5m',
  'component:default/fuzz',
  'a',
];

/** A value the schema accepts (as far as the document says). */
export function validValue(schema: Schema, rng: Rng, depth = 0): unknown {
  if (schema.enum) return rng.pick(schema.enum);
  if (schema.default !== undefined && rng.chance(0.3)) return schema.default;
  switch (schema.type) {
    case 'string': {
      if (schema.format === 'date-time') {
        return new Date(Date.UTC(2026, 0, 1 + rng.int(300))).toISOString();
      }
      if (schema.format === 'uuid') {
        const hex = () => rng.int(16).toString(16);
        const part = (n: number) => Array.from({ length: n }, hex).join('');
        return `${part(8)}-${part(4)}-4${part(3)}-8${part(3)}-${part(12)}`;
      }
      if (schema.example !== undefined && rng.chance(0.5)) {
        return String(schema.example);
      }
      const pattern = schema.pattern ? new RegExp(schema.pattern) : undefined;
      const fits = STRING_SAMPLES.filter(s => !pattern || pattern.test(s));
      return fits.length ? rng.pick(fits) : schema.example ?? 'fuzz';
    }
    case 'integer': {
      const min = schema.minimum ?? 0;
      const max = Math.min(schema.maximum ?? min + 100, min + 100);
      return min + rng.int(max - min + 1);
    }
    case 'number': {
      const min = schema.minimum ?? 0;
      const max = Math.min(schema.maximum ?? min + 100, min + 100);
      return min + rng.next() * (max - min);
    }
    case 'boolean':
      return rng.chance(0.5);
    case 'array': {
      const n = Math.max(schema.minItems ?? 0, 1 + rng.int(2));
      return Array.from({ length: n }, () =>
        validValue(schema.items ?? {}, rng, depth + 1),
      );
    }
    case 'object':
    default: {
      if (depth > 4) return {};
      const out: Record<string, unknown> = {};
      for (const [key, prop] of Object.entries<Schema>(
        schema.properties ?? {},
      )) {
        if ((schema.required ?? []).includes(key) || rng.chance(0.4)) {
          out[key] = validValue(prop, rng, depth + 1);
        }
      }
      if (typeof schema.additionalProperties === 'object' && rng.chance(0.5)) {
        out[rng.pick(['1', 'fuzz', 'a-b'])] = validValue(
          schema.additionalProperties,
          rng,
          depth + 1,
        );
      }
      return out;
    }
  }
}

/**
 * A value the schema refuses: the wrong type, or a string, number or list outside its pattern,
 * bounds or enum. Undefined for a schema that takes anything.
 */
export function invalidValue(schema: Schema, rng: Rng): unknown {
  const candidates: unknown[] = [];
  const type = schema.type ?? (schema.properties ? 'object' : undefined);
  if (!type) return undefined;
  const wrongTypes: Record<string, unknown[]> = {
    string: [12345, -1, true, null, {}, [], [{ a: 1 }], 1e308],
    integer: ['12', '1e3', 'NaN', true, null, {}, [1], 0.5, 1.000001],
    number: ['12', 'Infinity', true, null, {}, [1], ''],
    boolean: ['true', 0, 1, null, 'yes', []],
    array: [{}, 'a,b', 1, null, true],
    object: [[], 'x', 0, null, true, [{}]],
  };
  candidates.push(...(wrongTypes[type] ?? []));
  if (type === 'string') {
    if (schema.pattern) {
      const pattern = new RegExp(schema.pattern);
      candidates.push(...ODD_STRINGS.filter(s => !pattern.test(s)));
    }
    if (schema.maxLength !== undefined) {
      candidates.push('x'.repeat(schema.maxLength + 1 + rng.int(1000)));
    }
    if (schema.enum) {
      candidates.push(
        ...ODD_STRINGS.filter(s => !schema.enum.includes(s)).slice(0, 8),
      );
      candidates.push(`${String(schema.enum[0]).toUpperCase()}Ü`);
    }
    if (schema.format === 'uuid') {
      candidates.push('not-a-uuid', '00000000-0000-0000-0000-00000000000g');
    }
  }
  if (type === 'integer' || type === 'number') {
    if (type === 'integer') candidates.push(1.5, 2 ** 53 + 0.5, 1e21 + 0.5);
    if (schema.maximum !== undefined) {
      candidates.push(schema.maximum + 1, 1e308, 2 ** 53 + 1);
    }
    if (schema.minimum !== undefined) {
      candidates.push(schema.minimum - 1, -1e308, -(2 ** 53) - 1);
    }
  }
  if (type === 'array') {
    if ((schema.minItems ?? 0) > 0) candidates.push([]);
    const bad = schema.items ? invalidValue(schema.items, rng) : undefined;
    if (bad !== undefined)
      candidates.push([bad], [validValue(schema.items, rng), bad]);
  }
  return rng.pick(candidates);
}

/** `[[[…]]]` or `{"a":{"a":…}}` nested `depth` levels. */
export function deeplyNested(depth: number, rng: Rng): string {
  return rng.chance(0.5)
    ? `${'['.repeat(depth)}1${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Bodies that are not JSON, or not quite. */
export const MALFORMED_JSON = [
  '{',
  '{"a":',
  '[1,2',
  '{"a":1,}',
  "{'a':1}",
  '{"a":01}',
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":undefined}',
  '{"a":"\\x41"}',
  '{"a":"\\ud800"}',
  '\ufeff{"a":',
  '\u0000',
  '{} {}',
  '{"a":1}garbage',
  'null',
  'true',
  '"a string"',
  '12',
  '[]',
  '',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
];

/** One generated request, before its credentials. */
export interface FuzzRequest {
  method: string;
  /** The raw request target: path and query, as sent. */
  target: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** How it was made, for the report of a failure. */
  how: string[];
  /** A dry run: changes nothing even when it is accepted. */
  dryRun?: boolean;
}

/** What a request of {@link fuzzRequest} may use. */
export interface FuzzContext {
  /** Ids that exist, by path parameter name: a request uses one or a made-up one. */
  ids: Record<string, string[]>;
  /**
   * The request must be one the API refuses whoever sends it (for callers allowed to change
   * things): a body the schema refuses, or made-up ids where the operation takes no body.
   */
  mustRefuse: boolean;
  /**
   * Values that mean something here, by body field name (a real entity ref, a model's rows): a
   * body takes them often, so that a request valid but for one field gets past the checks before.
   */
  values?: Record<string, unknown[]>;
}

/** Whether a schema takes any object (a free-form one such as `details` or `spec`). */
function isFreeForm(schema: Schema): boolean {
  return (
    (schema.type === 'object' || !schema.type) &&
    !schema.properties &&
    schema.additionalProperties !== false &&
    typeof schema.additionalProperties !== 'object'
  );
}

/** `value` percent-encoded for a path segment or query; lone surrogates by hand. */
function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return Array.from(Buffer.from(value, 'utf8'))
      .map(b => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
      .join('');
  }
}

/** `value` in a request target: raw when it is printable ASCII (traversal stays traversal). */
function inTarget(value: string, rng: Rng): string {
  const printable = /^[\x21-\x7e]*$/.test(value);
  const roll = rng.int(4);
  if (printable && roll === 0) return value;
  if (roll === 1) return encode(encode(value));
  return encode(value);
}

function madeUpId(rng: Rng): string {
  return rng.chance(0.8)
    ? rng.pick(ODD_STRINGS.filter(s => s !== ''))
    : `zz-fuzz-${rng.int(1000)}`;
}

function latin1(value: string): string {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(value) ? value : encode(value);
}

/** A request to `operation`, built from `rng`. */
export function fuzzRequest(
  operation: Operation,
  rng: Rng,
  context: FuzzContext,
): FuzzRequest {
  const how: string[] = [];
  const headers: Record<string, string> = {};
  const bodySchema = operation.body?.schema;
  const hasBody = !!operation.body;
  // Without a body to make invalid, a request that must be refused names nothing that exists.
  const madeUpIds = context.mustRefuse && !hasBody ? true : rng.chance(0.35);

  let path = operation.path;
  const pathParams = operation.parameters.filter(p => p.in === 'path');
  const madeUp = new Set(
    madeUpIds && pathParams.length
      ? pathParams.filter(() => rng.chance(0.5)).map(p => p.name)
      : [],
  );
  if (madeUpIds && pathParams.length && madeUp.size === 0) {
    madeUp.add(rng.pick(pathParams).name);
  }
  for (const p of pathParams) {
    const real = context.ids[p.name] ?? [];
    const value =
      madeUp.has(p.name) || !real.length ? madeUpId(rng) : rng.pick(real);
    const segment = inTarget(value, rng) || '%20';
    path = path.replace(`{${p.name}}`, segment);
    how.push(`${p.name}=${JSON.stringify(value).slice(0, 80)}`);
  }

  // Half the requests send only valid parameters (and meaningful ones where known), so that the
  // other checks of a route are reached; the other half mixes in invalid and odd ones.
  const query: string[] = [];
  const validQuery = rng.chance(0.5);
  const meaningful = (name: string, schema: Schema) => {
    const known = context.values?.[name];
    return known && rng.chance(0.7) ? rng.pick(known) : validValue(schema, rng);
  };
  for (const p of operation.parameters.filter(q => q.in === 'query')) {
    if (!p.required && rng.chance(0.4)) continue;
    let value: unknown = rng.pick(ODD_STRINGS);
    const roll = validQuery ? 0 : rng.int(3);
    if (roll === 0) value = meaningful(p.name, p.schema);
    if (roll === 1) value = invalidValue(p.schema, rng) ?? value;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    query.push(
      `${p.name}=${validQuery ? encode(text) : inTarget(text ?? '', rng)}`,
    );
  }
  if (rng.chance(0.25)) {
    query.push(
      rng.pick([
        'unknown=1',
        'limit=1&limit=2',
        'entityRef[$ne]=x',
        'a[b][c][d][e][f]=1',
        '__proto__[polluted]=1',
        'constructor[prototype][polluted]=1',
        `q=${'x'.repeat(8000)}`,
        '%=%',
        '&&&=&',
        'pool=%00',
      ]),
    );
  }
  for (const p of operation.parameters.filter(q => q.in === 'header')) {
    if (rng.chance(0.5)) continue;
    const value = rng.chance(0.5)
      ? meaningful(p.name, p.schema)
      : rng.pick([
          ...ODD_STRINGS,
          '0,8',
          '1,0',
          '-1,8',
          '1e9,8',
          '1,8,1,8',
          '99999999999999999999,1',
          '1 x 8',
        ]);
    headers[p.name] = latin1(String(value));
    how.push(`${p.name}: ${headers[p.name].slice(0, 40)}`);
  }

  let body: Buffer | undefined;
  let dryRun = false;
  if (hasBody && operation.method !== 'GET') {
    const refuse = context.mustRefuse;
    const strategies = [
      'malformed',
      'wrong-top-level',
      'content-type',
      'huge',
      ...(bodySchema
        ? [
            'invalid-fields',
            'invalid-fields',
            'deep',
            ...((bodySchema.required ?? []).length ? ['missing-required'] : []),
            ...(bodySchema.additionalProperties === false
              ? ['unknown-field']
              : []),
          ]
        : []),
      ...(operation.body!.required || !refuse ? ['none'] : []),
      ...(refuse
        ? []
        : ['valid-ish', 'valid-ish', 'valid-ish', 'odd-values', 'odd-values']),
      // A dry run changes nothing, whoever sends it: anything goes.
      ...(bodySchema?.properties?.dryRun?.type === 'boolean'
        ? ['dry-run', 'dry-run']
        : []),
      ...(operation.body!.contentTypes.includes('application/octet-stream')
        ? ['binary', 'binary']
        : []),
    ];
    const strategy = rng.pick(strategies);
    how.push(`body: ${strategy}`);
    const valid = () => {
      const b = bodySchema
        ? (validValue(bodySchema, rng) as Record<string, unknown>)
        : {};
      for (const [key, values] of Object.entries(context.values ?? {})) {
        if (key in (bodySchema?.properties ?? {}) && rng.chance(0.85)) {
          b[key] = structuredClone(rng.pick(values));
        }
      }
      return b;
    };
    let json: string | undefined;
    let contentType: string | undefined = 'application/json';
    switch (strategy) {
      case 'malformed':
        // An empty body is no body: valid where the body is optional.
        json = rng.pick(
          MALFORMED_JSON.filter(m => m !== '' || operation.body!.required),
        );
        break;
      case 'wrong-top-level':
        json = JSON.stringify(rng.pick([[], 'x', 1, [valid()], [[[]]]]));
        break;
      case 'content-type':
        json = JSON.stringify(valid());
        contentType = rng.pick([
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/xml',
          'application/json; charset=utf-16',
          'application/jsonp',
          '',
          'application/octet-stream',
        ]);
        if (
          refuse &&
          contentType === 'application/octet-stream' &&
          operation.body!.contentTypes.includes(contentType)
        ) {
          contentType = 'text/plain';
        }
        break;
      case 'huge': {
        const b = valid();
        b[rng.pick(Object.keys(b).concat('filler'))] = 'x'.repeat(
          70_000 + rng.int(200_000),
        );
        json = JSON.stringify(b);
        break;
      }
      case 'invalid-fields': {
        const b = valid();
        const props = Object.entries<Schema>(
          bodySchema!.properties ?? {},
        ).filter(([, s]) => invalidValue(s, rng) !== undefined);
        const n = 1 + rng.int(Math.min(3, props.length));
        for (let i = 0; i < n && props.length; i++) {
          const [key, s] = rng.pick(props);
          b[key] = invalidValue(s, rng);
          how.push(`${key}=${JSON.stringify(b[key])?.slice(0, 60)}`);
        }
        if (!props.length) b[`unknown-${rng.int(100)}`] = 1;
        json = JSON.stringify(b);
        break;
      }
      case 'deep': {
        const b = valid();
        const props = Object.entries<Schema>(
          bodySchema!.properties ?? {},
        ).filter(([, s]) => !refuse || !isFreeForm(s));
        const key = props.length ? rng.pick(props)[0] : 'deep';
        b[key] = '__DEEP__';
        const depth = rng.pick([64, 1000, 5000, 20_000]);
        how.push(`${key} nested ${depth} deep`);
        json = JSON.stringify(b).replace(
          '"__DEEP__"',
          deeplyNested(depth, rng),
        );
        break;
      }
      case 'missing-required': {
        const b = valid();
        delete b[rng.pick(bodySchema!.required as string[])];
        json = JSON.stringify(b);
        break;
      }
      case 'unknown-field': {
        const b = valid();
        // Defined, not assigned: `b.__proto__ = v` would set the prototype, not send a field.
        Object.defineProperty(
          b,
          rng.pick([
            '__proto__',
            'constructor',
            'unknown',
            'ünï',
            'a'.repeat(500),
          ]),
          { value: rng.pick([1, 'x', {}, null]), enumerable: true },
        );
        json = JSON.stringify(b);
        break;
      }
      case 'none':
        contentType = rng.chance(0.5) ? 'application/json' : undefined;
        break;
      case 'dry-run': {
        const b = valid();
        if (rng.chance(0.5)) {
          for (const key of Object.keys(b)) {
            if (typeof b[key] === 'string' && rng.chance(0.3)) {
              b[key] = rng.pick(ODD_STRINGS);
            }
            if (typeof b[key] === 'number') b[key] = rng.pick(ODD_NUMBERS);
          }
        }
        b.dryRun = true;
        dryRun = true;
        json = JSON.stringify(b);
        break;
      }
      case 'valid-ish':
        json = JSON.stringify(valid());
        break;
      case 'odd-values': {
        const b = valid();
        for (const key of Object.keys(b)) {
          if (typeof b[key] === 'string') b[key] = rng.pick(ODD_STRINGS);
          if (typeof b[key] === 'number') b[key] = rng.pick(ODD_NUMBERS);
        }
        json = JSON.stringify(b);
        break;
      }
      case 'binary': {
        contentType = 'application/octet-stream';
        const floats = rng.pick([0, 1, 7, 8, 16, 1000]);
        body = Buffer.alloc(floats * 4 + rng.pick([0, 0, 1, 3]));
        for (let i = 0; i < body.length; i++) body[i] = rng.int(256);
        break;
      }
      default:
        throw new Error(`unknown body strategy ${strategy}`);
    }
    if (json !== undefined) body = Buffer.from(json, 'utf8');
    if (contentType) headers['content-type'] = contentType;
  }
  if (rng.chance(0.1)) {
    headers['x-request-id'] = latin1(rng.pick(ODD_STRINGS));
  }
  if (rng.chance(0.1)) {
    headers.accept = rng.pick([
      'application/octet-stream',
      'text/html',
      '*/*;q=0',
      'application/x-ndjson',
    ]);
  }
  return {
    method: operation.method,
    target: `${path}${query.length ? `?${query.join('&')}` : ''}`,
    headers,
    ...(body ? { body } : {}),
    how,
    ...(dryRun ? { dryRun } : {}),
  };
}
