/**
 * The Gekko native inference worker: ONNX model host, dynamic batching and accelerator telemetry.
 *
 * @packageDocumentation
 */
export * from './runtime/ModelHost';
export * from './batching/DynamicBatcher';
export * from './batching/LatencyWindow';
export * from './telemetry/types';
export * from './telemetry/parseNvidiaSmiCsv';
export * from './telemetry/parseIoregAccelerator';
export * from './telemetry/cpuTelemetry';
export * from './telemetry/TelemetrySampler';
export * from './testing/makeMlpModel';
export * from './protocol/types';
export * from './agent/WorkerAgent';
export * from './transport/thread/ThreadWorkerConnection';
export { runThreadWorker } from './transport/thread/threadMain';
export type { ThreadWorkerData } from './transport/thread/threadMain';
export * from './runtime/inspectOnnx';
