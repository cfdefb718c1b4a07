import {
  GEKKO_ANNOTATIONS,
  VENUES,
  parseSloAnnotation,
} from '@gekko/plugin-gekko-common';
import { TradingServiceRules, selectorMatchers } from './generateRules';

const SLOS_ANNOTATION = GEKKO_ANNOTATIONS.slos;
const VENUES_ANNOTATION = GEKKO_ANNOTATIONS.venues;

/** A catalog entity as far as the rules need it: a plain object, as in catalog-info.yaml. */
export interface CatalogEntityLike {
  kind?: string;
  metadata?: { name?: string; annotations?: Record<string, string> };
}

/**
 * The trading services of a catalog, each with its SLOs, selector and venues, for
 * `generateSloRules`. Entities without `gekko.io/slos` are not trading services here and are
 * skipped; a service without `gekko.io/prometheus-selector` gets `{job="<name>"}`. A bad annotation
 * throws an Error naming the entity and the annotation.
 */
export function tradingServicesFromCatalog(
  entities: CatalogEntityLike[],
): TradingServiceRules[] {
  return entities.flatMap(entity => {
    const annotations = entity.metadata?.annotations ?? {};
    const slos = annotations[SLOS_ANNOTATION];
    if (slos === undefined) return [];
    const name = entity.metadata?.name;
    if (!name)
      throw new Error(`an entity with ${SLOS_ANNOTATION} has no metadata.name`);
    const ref = `${(entity.kind ?? 'component').toLowerCase()}:${name}`;
    const read = <T>(annotation: string, parse: () => T): T => {
      try {
        return parse();
      } catch (error) {
        throw new Error(
          `${ref}: annotation ${annotation}: ${(error as Error).message}`,
        );
      }
    };
    const selector =
      annotations[GEKKO_ANNOTATIONS.prometheusSelector] ?? `{job="${name}"}`;
    read(GEKKO_ANNOTATIONS.prometheusSelector, () =>
      selectorMatchers(selector),
    );
    return [
      {
        name,
        selector,
        slos: read(SLOS_ANNOTATION, () => parseSloAnnotation(slos)),
        venues: read(VENUES_ANNOTATION, () =>
          parseVenues(annotations[VENUES_ANNOTATION] ?? ''),
        ),
      },
    ];
  });
}

function parseVenues(value: string): string[] {
  const venues = value
    .split(',')
    .map(v => v.trim())
    .filter(Boolean);
  for (const venue of venues) {
    if (!VENUES[venue]) {
      throw new Error(
        `"${venue}" is not a known venue; known: ${Object.keys(VENUES).join(
          ', ',
        )}`,
      );
    }
  }
  if (new Set(venues).size !== venues.length) {
    throw new Error(`"${value}" lists a venue twice`);
  }
  return venues;
}
