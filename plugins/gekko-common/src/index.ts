/**
 * Shared contracts of the Gekko portal: annotations, permissions, API types and validation.
 *
 * @packageDocumentation
 */
export * from './annotations';
export * from './audit';
export * from './validateGekkoAnnotations';
export * from './permissions';
export * from './pools';
export { parseInput, resourceName } from './validation';
export * from './gpu';
export * from './inference';
export * from './deployments';
export * from './trading';
export * from './GekkoClient';
