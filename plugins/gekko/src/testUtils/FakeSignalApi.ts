import type { SignalApi } from '@backstage/plugin-signals-react';

type Message = Parameters<Parameters<SignalApi['subscribe']>[1]>[0];

/** The browser's end of Backstage signals, with `publish` standing in for the backend's push. */
export class FakeSignalApi implements SignalApi {
  private readonly subscribers = new Map<string, Set<(m: Message) => void>>();

  subscribe: SignalApi['subscribe'] = (channel, onMessage) => {
    const set = this.subscribers.get(channel) ?? new Set();
    const listener = onMessage as (m: Message) => void;
    set.add(listener);
    this.subscribers.set(channel, set);
    return { unsubscribe: () => set.delete(listener) };
  };

  /** Delivers a message to the channel's subscribers, as the signals backend would. */
  publish(channel: string, message: Message) {
    for (const listener of this.subscribers.get(channel) ?? []) {
      listener(message);
    }
  }

  /** The channels someone listens on now. */
  channels(): string[] {
    return [...this.subscribers]
      .filter(([, set]) => set.size > 0)
      .map(([channel]) => channel);
  }
}
