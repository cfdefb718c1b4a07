/** A SHA-256 hash cut to its first characters, in monospace; the full hash on hover. */
export function ShortHash(props: { hash: string | null }) {
  const { hash } = props;
  if (!hash) {
    return <>—</>;
  }
  return <code title={hash}>{hash.slice(0, 12)}…</code>;
}
