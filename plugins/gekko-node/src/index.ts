/**
 * Backend-only pieces of the Gekko portal for other backend plugins: the typed inference client and
 * its service ref.
 *
 * @packageDocumentation
 */
export * from './GekkoInferenceClient';
export * from './serviceRef';
