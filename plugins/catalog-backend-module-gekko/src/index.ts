/**
 * Catalog module of the Gekko portal: GPU pools as catalog entities, and validation of the
 * `gekko.io/*` annotations of trading services.
 *
 * @packageDocumentation
 */
export { catalogModuleGekko as default } from './module';
export { GekkoAnnotationProcessor } from './processors/GekkoAnnotationProcessor';
export { GekkoPoolEntityProvider } from './providers/GekkoPoolEntityProvider';
