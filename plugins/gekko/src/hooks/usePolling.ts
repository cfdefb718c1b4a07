import { useEffect, useState } from 'react';

/** The shortest interval the portal polls the gekko backend at, whatever a caller asks for. */
export const MIN_POLL_INTERVAL_MS = 5_000;

/** What a {@link usePolling} caller sees. */
export interface PollingState<T> {
  /** The latest answer; kept while a later poll fails, so the page does not go blank. */
  value?: T;
  /** The error of the latest poll, cleared by the next one that succeeds. */
  error?: Error;
  /** True until the first poll has answered, with a value or an error. */
  loading: boolean;
  /** When `value` was fetched. */
  updatedAt?: Date;
}

/**
 * Calls `load` now and then again `intervalMs` after each answer, until the component unmounts or
 * `load` changes (memoize it with `useCallback`). Polls never overlap, and never come faster than
 * {@link MIN_POLL_INTERVAL_MS}.
 */
export function usePolling<T>(
  load: () => Promise<T>,
  intervalMs: number,
): PollingState<T> {
  const [state, setState] = useState<PollingState<T>>({ loading: true });

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState({ loading: true });

    const poll = async () => {
      try {
        const value = await load();
        if (!stopped) {
          setState({ value, loading: false, updatedAt: new Date() });
        }
      } catch (error) {
        if (!stopped) {
          setState(previous => ({
            ...previous,
            error: error instanceof Error ? error : new Error(String(error)),
            loading: false,
          }));
        }
      }
      if (!stopped) {
        timer = setTimeout(poll, Math.max(MIN_POLL_INTERVAL_MS, intervalMs));
      }
    };
    poll();

    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [load, intervalMs]);

  return state;
}
