import { act, renderHook } from '@testing-library/react';
import { MIN_POLL_INTERVAL_MS, usePolling } from './usePolling';

/** A load function that answers with how often it has been called, or fails when told to. */
function counter() {
  const state = { calls: 0, failWith: undefined as Error | undefined };
  const load = async () => {
    state.calls += 1;
    if (state.failWith) {
      throw state.failWith;
    }
    return state.calls;
  };
  return { state, load };
}

describe('usePolling', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  async function advance(ms: number) {
    await act(async () => {
      await jest.advanceTimersByTimeAsync(ms);
    });
  }

  it('loads at once, then again every interval', async () => {
    const { state, load } = counter();
    const { result } = renderHook(() => usePolling(load, 10_000));

    expect(result.current.loading).toBe(true);
    await advance(0);
    expect(result.current).toMatchObject({ value: 1, loading: false });

    await advance(9_999);
    expect(state.calls).toBe(1);
    await advance(1);
    expect(result.current.value).toBe(2);
  });

  it(`never polls faster than every ${MIN_POLL_INTERVAL_MS} ms`, async () => {
    const { state, load } = counter();
    renderHook(() => usePolling(load, 100));

    await advance(MIN_POLL_INTERVAL_MS - 1);
    expect(state.calls).toBe(1);
    await advance(1);
    expect(state.calls).toBe(2);
  });

  it('stops polling when the component unmounts', async () => {
    const { state, load } = counter();
    const { unmount } = renderHook(() => usePolling(load, 5_000));
    await advance(5_000);
    expect(state.calls).toBe(2);

    unmount();
    await advance(60_000);

    expect(state.calls).toBe(2);
  });

  it('keeps the last value when a poll fails, and clears the error when one succeeds', async () => {
    const { state, load } = counter();
    const { result } = renderHook(() => usePolling(load, 5_000));
    await advance(0);

    state.failWith = new Error('The GPU manager is not running');
    await advance(5_000);
    expect(result.current).toMatchObject({
      value: 1,
      loading: false,
      error: state.failWith,
    });

    state.failWith = undefined;
    await advance(5_000);
    expect(result.current.value).toBe(3);
    expect(result.current.error).toBeUndefined();
  });

  it('starts again from nothing when the load function changes', async () => {
    const first = counter();
    const second = counter();
    const { result, rerender } = renderHook(
      ({ load }) => usePolling(load, 5_000),
      { initialProps: { load: first.load } },
    );
    await advance(0);
    expect(result.current.value).toBe(1);

    rerender({ load: second.load });
    expect(result.current).toEqual({ loading: true });
    await advance(5_000);

    expect(first.state.calls).toBe(1);
    expect(second.state.calls).toBe(2);
  });
});
