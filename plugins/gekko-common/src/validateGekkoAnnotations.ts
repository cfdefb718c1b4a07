import { GEKKO_ANNOTATIONS, GPU_POOL_DEPLOYMENT_TARGET } from './annotations';
import { parseSloAnnotation, VENUES } from './trading';
import { dnsLabel } from './validation';

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

// One matcher: name, operator (=, !=, =~, !~), double-quoted value.
const matcher = String.raw`\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"(?:[^"\\]|\\.)*"\s*`;
const selectorPattern = new RegExp(`^\\{${matcher}(,${matcher})*,?\\s*\\}$`);

/**
 * Checks the `gekko.io/*` annotations of a trading-service Component. Returns one message per bad
 * annotation, naming it and saying what a good value looks like; empty when all are good.
 *
 * @public
 */
export function validateGekkoAnnotations(
  annotations: Record<string, string> | undefined,
): string[] {
  const problems: string[] = [];
  if (!annotations) return problems;
  const a = GEKKO_ANNOTATIONS;
  const pool = annotations[a.gpuPool];
  if (pool !== undefined && !dnsLabel.safeParse(pool).success) {
    problems.push(
      `${a.gpuPool} "${pool}" is not a pool name: use lower-case letters, digits and dashes`,
    );
  }
  const target = annotations[a.deploymentTarget];
  // Which targets exist is up to the backend modules that register them; the orchestrator refuses a
  // deployment to a target that is not registered, naming those that are.
  if (target !== undefined && !dnsLabel.safeParse(target).success) {
    problems.push(
      `${a.deploymentTarget} "${target}" is not a deployment target name: use lower-case letters, digits and dashes, e.g. gpu-pool or kubernetes`,
    );
  }
  if (target === GPU_POOL_DEPLOYMENT_TARGET && pool === undefined) {
    problems.push(
      `${a.deploymentTarget} is gpu-pool but ${a.gpuPool} does not name the pool`,
    );
  }
  for (const key of [a.healthUrl, a.metricsUrl]) {
    const value = annotations[key];
    if (value !== undefined && !isHttpUrl(value)) {
      problems.push(`${key} "${value}" must be an absolute http(s) URL`);
    }
  }
  const selector = annotations[a.prometheusSelector];
  if (selector !== undefined && !selectorPattern.test(selector)) {
    problems.push(
      `${a.prometheusSelector} "${selector}" must be a Prometheus label selector such as {job="trading-engine"}`,
    );
  }
  const slos = annotations[a.slos];
  if (slos !== undefined) {
    try {
      parseSloAnnotation(slos);
    } catch (error) {
      problems.push(`${a.slos}: ${(error as Error).message}`);
    }
  }
  const venues = annotations[a.venues];
  if (venues !== undefined) {
    for (const venue of venues.split(',').map(v => v.trim())) {
      if (!VENUES[venue]) {
        problems.push(
          `${
            a.venues
          }: "${venue}" is not a venue; use a comma-separated list of ${Object.keys(
            VENUES,
          ).join(', ')}`,
        );
      }
    }
  }
  return problems;
}
