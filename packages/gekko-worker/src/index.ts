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
export * from './testing/natsTestServer';
export * from './protocol/types';
export * from './agent/WorkerAgent';
export * from './transport/thread/ThreadWorkerConnection';
export * from './transport/inProcess/InProcessWorkerConnection';
export type { EmbeddedConnectionOptions } from './transport/embedded';
export { runThreadWorker } from './transport/thread/threadMain';
export type { ThreadWorkerData } from './transport/thread/threadMain';
export * from './runtime/inspectOnnx';
export * from './transport/nats/NatsWorkerServer';
export * from './transport/nats/NatsControlPlane';
export * from './transport/nats/NatsWorkerConnection';
export {
  connectNats,
  describeNatsAuth,
  describeNatsTls,
} from './transport/nats/connectNats';
export type {
  NatsAuth,
  NatsLinkOptions,
  NatsTls,
} from './transport/nats/connectNats';
export * from './transport/nats/natsServerConfig';
export {
  DEFAULT_SUBJECT_PREFIX,
  NATS_HEADERS,
  NATS_SUBJECT_LAYOUT_VERSION,
  defaultNatsWorkerId,
  isSafeNatsToken,
  natsSubjects,
} from './transport/nats/subjects';
export type { NatsSubjects } from './transport/nats/subjects';
export type { InferReplyMeta } from './transport/nats/wire';
export { runCli } from './cli/main';
export type { CliIo } from './cli/main';
export { parseCliArgs, CliUsageError } from './cli/parseCliArgs';
export type { CliConfig } from './cli/parseCliArgs';

/** Benchmark goals and result files, shared by the worker's and the gekko backend's benchmarks. */
export * as benchResults from './bench/results';
