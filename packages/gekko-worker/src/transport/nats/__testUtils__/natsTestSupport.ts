/*
 * Shared by the NATS transport tests (not part of the package's API): the shipped model, an
 * artifact reader over the repository's models folder, and small waiting helpers.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type {
  HeartbeatMessage,
  ModelArtifactRef,
  WorkerConnection,
  WorkerLinkEvents,
} from '../../../protocol/types';

/** The NATS server the tests use, when one is configured. */
export const TEST_NATS_URL = process.env.GEKKO_TEST_NATS_URL;

/**
 * `describe`, or `describe.skip` when no NATS server is configured. One test file announces the
 * skip, on stderr directly: Jest does not show console output of a file whose tests all skipped.
 */
export function describeWithNats(announceSkip = false): jest.Describe {
  if (TEST_NATS_URL) return describe;
  if (announceSkip) {
    process.stderr.write(
      'SKIPPED: NATS transport tests — set GEKKO_TEST_NATS_URL (npm test sets it when nats://127.0.0.1:4222 answers)\n',
    );
  }
  return describe.skip;
}

/** A subject prefix no other test run shares. */
export function uniquePrefix(): string {
  return `gekkotest${crypto.randomBytes(4).toString('hex')}`;
}

export const repoModelsDir = path.resolve(
  __dirname,
  '../../../../../../models',
);
const artifact = 'nhits-price/1/model.onnx';
export const modelBytes = fs.readFileSync(path.join(repoModelsDir, artifact));

function sha256(bytes: Uint8Array) {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** The shipped N-HiTS model, with no absolute path: a remote worker cannot read the backend's disk. */
export const modelRef: ModelArtifactRef = {
  name: 'nhits-price',
  version: '1',
  relativePath: artifact,
  sha256: sha256(modelBytes),
  sizeBytes: modelBytes.length,
  batching: { maxBatchSize: 64, maxQueueDelayMs: 1 },
};

/** Reads artifacts from the repository's models folder by SHA-256, counting the reads. */
export function repoArtifactReader() {
  const bySha = new Map<string, string>();
  for (const name of fs.readdirSync(repoModelsDir)) {
    const dir = path.join(repoModelsDir, name);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const version of fs.readdirSync(dir)) {
      const file = path.join(dir, version, 'model.onnx');
      if (fs.existsSync(file)) bySha.set(sha256(fs.readFileSync(file)), file);
    }
  }
  const reader = {
    reads: 0,
    read: async (sha: string): Promise<Uint8Array | undefined> => {
      reader.reads += 1;
      const file = bySha.get(sha);
      return file ? fs.promises.readFile(file) : undefined;
    },
  };
  return reader;
}

/** Records what a transport reports. */
export function recorder() {
  const heartbeats: Array<{
    connection: WorkerConnection;
    message: HeartbeatMessage;
  }> = [];
  const gone: Array<{ id: string; reason: string }> = [];
  const events: WorkerLinkEvents = {
    heartbeat: (connection, message) =>
      heartbeats.push({ connection, message }),
    gone: (id, reason) => gone.push({ id, reason }),
  };
  return { heartbeats, gone, events };
}

/** Waits until `check` holds; fails after `ms`. */
export async function until(check: () => boolean, what: string, ms = 30_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 20));
  }
}

/** `rows` price windows of 120 features. */
export function windowRows(rows: number): Float32Array {
  const input = new Float32Array(rows * 120);
  for (let i = 0; i < input.length; i++) {
    input[i] = 100 + Math.sin(i / 7) + (i % 120) * 0.01;
  }
  return input;
}
