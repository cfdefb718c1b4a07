/**
 * Stands in for the Gordon Gekko trading services: serves each one's Prometheus metrics, with
 * faults switchable at run time.
 *
 * @packageDocumentation
 */
export { TradingSimulator } from './TradingSimulator';
export type { TradingSimulatorOptions } from './TradingSimulator';
export { DEFAULT_SERVICES, LATENCY_BUCKETS } from './serviceSpecs';
export type { SimulatedServiceSpec } from './serviceSpecs';
export { FAULT_KINDS, isFaultKind } from './faults';
export type { ActiveFault, FaultKind, FaultParamsByKind } from './faults';
export { mulberry32 } from './random';
export { runCli } from './cli';
export type { CliIo } from './cli';
