import { defaultIntraOpThreads } from './EmbeddedWorkers';

describe('defaultIntraOpThreads', () => {
  it('leaves one core to the event loop and shares the rest among the workers', () => {
    expect(defaultIntraOpThreads(2, 2)).toBe(1);
    expect(defaultIntraOpThreads(2, 4)).toBe(1);
    expect(defaultIntraOpThreads(2, 8)).toBe(3);
    expect(defaultIntraOpThreads(1, 8)).toBe(7);
    expect(defaultIntraOpThreads(4, 16)).toBe(3);
  });

  it('gives every worker at least one thread, even with more workers than cores', () => {
    expect(defaultIntraOpThreads(2, 1)).toBe(1);
    expect(defaultIntraOpThreads(8, 2)).toBe(1);
    expect(defaultIntraOpThreads(0, 2)).toBe(1);
  });
});
