/**
 * The Gekko portal's backend plugin: GPU pools, the GPU manager, the inference gateway and model
 * registry, and the hash-chained audit trail.
 *
 * @packageDocumentation
 */
export { gekkoPlugin as default } from './plugin';
