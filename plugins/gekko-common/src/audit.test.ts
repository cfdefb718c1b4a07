import {
  canonicalAuditRecord,
  canonicalAuditRecordWithDetails,
  canonicalJson,
} from './audit';

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
