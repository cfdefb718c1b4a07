import { canonicalJson } from './audit';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(
      canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } }),
    ).toBe('{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
  });
});
