/** Polls `probe` until it gives a truthy value (returned), failing after `ms`. For tests. */
export async function until<T>(
  probe: () => Promise<T | undefined | false>,
  what: string,
  ms = 60_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 50));
  }
}
