import {
  appendAuditEventSchema,
  auditQuerySchema,
  canonicalAuditRecord,
  canonicalAuditRecordWithDetails,
  canonicalJson,
} from './audit';
import { parseInput } from './validation';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(
      canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } }),
    ).toBe('{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
  });
});

describe('canonicalAuditRecordWithDetails', () => {
  it('writes the same bytes as canonicalJson of the whole record', () => {
    const fields = {
      seq: 7,
      time: '2026-11-25T10:00:00.000Z',
      actor: 'user:default/jane',
      action: 'pool.update',
      target: null,
      outcome: 'success' as const,
      requestId: 'r"1',
      details: { z: [1, { b: 2, a: 'é\n' }], a: null },
    };
    const expected = canonicalJson({ ...fields });
    expect(canonicalAuditRecord(fields)).toBe(expected);
    expect(
      canonicalAuditRecordWithDetails(fields, canonicalJson(fields.details)),
    ).toBe(expected);
  });
});

describe('audit request schemas', () => {
  const query = (q: Record<string, string>) =>
    parseInput(auditQuerySchema, q, 'audit query');

  it('takes ISO 8601 times and whole-number limits written in digits', () => {
    expect(
      query({
        from: '2026-12-02',
        to: '2026-12-02T09:30:00.123+01:00',
        limit: '16',
      }),
    ).toMatchObject({ limit: 16 });
    expect(query({})).toMatchObject({ limit: 50, order: 'desc' });
  });

  it('refuses times and numbers that only parse by accident, naming the field', () => {
    expect(() => query({ to: '1' })).toThrow(
      'Invalid audit query: to: must be an ISO 8601 time such as 2026-12-02T09:30:00Z',
    );
    expect(() => query({ from: 'Tuesday 2 December' })).toThrow(
      /from: must be an ISO 8601 time/,
    );
    for (const limit of ['0x10', '1e2', ' 5', '5.0', '0', '501']) {
      expect(() => query({ limit })).toThrow(
        'limit: must be a whole number from 1 to 500',
      );
    }
  });

  it('refuses event details nested deeper than 16 levels', () => {
    // As a body parser would hand it over: built without recursion, like JSON.parse does.
    const nested = (depth: number): unknown => {
      let value: unknown = 1;
      for (let i = 0; i < depth; i++) value = { a: value };
      return value;
    };
    const event = (depth: number) => ({
      action: 'deployment.promote',
      target: 'component:default/x',
      details: nested(depth),
    });
    expect(() =>
      parseInput(appendAuditEventSchema, event(16), 'audit event'),
    ).not.toThrow();
    expect(() =>
      parseInput(appendAuditEventSchema, event(30_000), 'audit event'),
    ).toThrow('details: must not nest deeper than 16 levels');
  });
});
