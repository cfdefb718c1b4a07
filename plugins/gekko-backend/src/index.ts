/**
 * The Gekko portal's backend plugin: GPU pools and the hash-chained audit trail.
 *
 * @packageDocumentation
 */
export { gekkoPlugin as default } from './plugin';
