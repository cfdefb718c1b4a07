/**
 * Backend-only pieces of the Gekko portal for other backend plugins and modules: the inference
 * service and its ref, and the gekko backend's extension points.
 *
 * @packageDocumentation
 */
export * from './DefaultGekkoInferenceService';
export * from './extensions';
export * from './GekkoInferenceService';
export * from './serviceRef';
