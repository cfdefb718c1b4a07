import { useApiHolder } from '@backstage/frontend-plugin-api';
import { signalApiRef } from '@backstage/plugin-signals-react';
import { useCallback, useEffect, useRef, useState } from 'react';

/** What a {@link useLiveData} caller sees. */
export interface LiveDataState<T> {
  /** The latest answer; kept while a later load fails, so the page does not go blank. */
  value?: T;
  /** The error of the latest load, cleared by the next one that succeeds. */
  error?: Error;
  /** True until the first load has answered. */
  loading: boolean;
  /** When `value` was loaded. */
  updatedAt?: Date;
  /** Whether changes are pushed (Backstage signals); otherwise the data is polled. */
  pushed: boolean;
  /** Loads again now. */
  refresh: () => void;
}

/**
 * Loads data, and again each time a signal arrives on one of `channels` (the backend pushes every
 * change of a deployment); where the app has no signals, or as a safety net, it also polls every
 * `pollMs(pushed, value)` milliseconds. Loads never overlap: a signal that arrives during a load
 * asks for one more load after it. `load` must be memoized.
 */
export function useLiveData<T>(
  load: () => Promise<T>,
  channels: readonly string[],
  pollMs: (pushed: boolean, value: T | undefined) => number,
): LiveDataState<T> {
  const signals = useApiHolder().get(signalApiRef);
  const [state, setState] = useState<Omit<LiveDataState<T>, 'refresh'>>({
    loading: true,
    pushed: !!signals,
  });
  const [generation, setGeneration] = useState(0);
  const refresh = useCallback(() => setGeneration(g => g + 1), []);
  const loading = useRef(false);
  const again = useRef(false);

  useEffect(() => {
    let stopped = false;
    if (loading.current) {
      again.current = true;
      return undefined;
    }
    loading.current = true;
    load()
      .then(
        value => {
          if (!stopped) {
            setState(s => ({
              ...s,
              value,
              error: undefined,
              loading: false,
              updatedAt: new Date(),
            }));
          }
        },
        error => {
          if (!stopped) {
            setState(s => ({
              ...s,
              error: error instanceof Error ? error : new Error(String(error)),
              loading: false,
            }));
          }
        },
      )
      .finally(() => {
        loading.current = false;
        if (again.current) {
          again.current = false;
          refresh();
        }
      });
    return () => {
      stopped = true;
    };
  }, [load, generation, refresh]);

  const channelKey = channels.join('\n');
  useEffect(() => {
    if (!signals || !channelKey) return undefined;
    const subscriptions = channelKey
      .split('\n')
      .map(channel => signals.subscribe(channel, () => refresh()));
    return () => subscriptions.forEach(s => s.unsubscribe());
  }, [signals, channelKey, refresh]);

  const interval = pollMs(!!signals, state.value);
  useEffect(() => {
    const timer = setInterval(refresh, interval);
    return () => clearInterval(timer);
  }, [interval, refresh]);

  return { ...state, refresh };
}
