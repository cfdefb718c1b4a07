import fs from 'node:fs';

/**
 * The path of a tool the tests need (`GEKKO_<NAME>` first, then Debian's `/usr/bin/<name>`), or
 * undefined after a `SKIPPED:` line naming what will not run. Use its result to choose `describe`
 * or `describe.skip`, so that the tests count as skipped where the tool is missing.
 */
export function findTestBinary(
  name: 'promtool' | 'prometheus',
  skipped: string,
): string | undefined {
  const variable = `GEKKO_${name.toUpperCase()}`;
  const found =
    process.env[variable] ||
    (fs.existsSync(`/usr/bin/${name}`) ? `/usr/bin/${name}` : undefined);
  if (!found) {
    // eslint-disable-next-line no-console
    console.warn(
      `SKIPPED: ${skipped} — no ${name} at /usr/bin/${name}; set ${variable} to one`,
    );
  }
  return found;
}
