import * as ort from 'onnxruntime-node';
import type * as BindingModule from 'onnxruntime-node/dist/binding';

/** What {@link ModelHost} needs of an onnxruntime session. */
export type HostSession = Pick<
  ort.InferenceSession,
  | 'inputNames'
  | 'outputNames'
  | 'inputMetadata'
  | 'outputMetadata'
  | 'run'
  | 'release'
> & {
  /** Runs on the calling thread and returns when done, where the session can (see below). */
  runSync?(
    feeds: ort.InferenceSession.FeedsType,
  ): ort.InferenceSession.ReturnType;
};

type Binding = typeof BindingModule;
type NativeSession = InstanceType<Binding['binding']['InferenceSession']>;

/** onnxruntime-node's element type codes, as its own session handler maps them. */
const ELEMENT_TYPES: Array<ort.Tensor.Type | undefined> = [
  undefined,
  'float32',
  'uint8',
  'int8',
  'uint16',
  'int16',
  'int32',
  'int64',
  'string',
  'bool',
  'float16',
  'float64',
  'uint32',
  'uint64',
];

let loaded: Binding | null | undefined;

/** onnxruntime-node's native binding, or null where this version does not have it where we look. */
function nativeBinding(): Binding | null {
  if (loaded === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require('onnxruntime-node/dist/binding') as Binding;
      if (typeof loaded?.binding?.InferenceSession !== 'function')
        loaded = null;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

function metadataOf(
  raw: NativeSession['inputMetadata'],
): [string[], ort.InferenceSession.ValueMetadata[]] {
  const names: string[] = [];
  const metadata: ort.InferenceSession.ValueMetadata[] = [];
  for (const m of raw) {
    names.push(m.name);
    const type = ELEMENT_TYPES[m.type];
    if (!m.isTensor || type === undefined) {
      metadata.push({ name: m.name, isTensor: false });
      continue;
    }
    metadata.push({
      name: m.name,
      isTensor: true,
      type,
      shape: m.shape.map((d, i) => (d === -1 ? m.symbolicDimensions[i] : d)),
    });
  }
  return [names, metadata];
}

/**
 * An onnxruntime-node session that ModelHost can also run synchronously. The public
 * `InferenceSession.run` calls the same native `run` (which is synchronous, on the calling thread),
 * but from a `setImmediate` behind two async layers: a batch then waits for one more turn of the
 * event loop, with every poll phase's reads in between, before it runs. The native session object
 * (`onnxruntime-node/dist/binding`, typed in the package's `binding.d.ts`) is what the package's own
 * session handler wraps; where it cannot be loaded, the public API is used as before.
 */
export async function createHostSession(
  model: string | Uint8Array,
  options: ort.InferenceSession.SessionOptions,
): Promise<HostSession> {
  const native = nativeBinding();
  if (!native) {
    return typeof model === 'string'
      ? ort.InferenceSession.create(model, options)
      : ort.InferenceSession.create(model, options);
  }
  // Created after the event loop had a turn, as the public API does: loading takes a while.
  await new Promise(resolve => setImmediate(resolve));
  native.initOrt();
  const session = new native.binding.InferenceSession();
  if (typeof model === 'string') session.loadModel(model, options);
  else {
    session.loadModel(
      model.buffer as ArrayBuffer,
      model.byteOffset,
      model.byteLength,
      options,
    );
  }
  const [inputNames, inputMetadata] = metadataOf(session.inputMetadata);
  const [outputNames, outputMetadata] = metadataOf(session.outputMetadata);
  const fetches: Record<string, null> = {};
  for (const name of outputNames) fetches[name] = null;
  const runOptions = {};
  const runSync = (feeds: ort.InferenceSession.FeedsType) =>
    session.run(feeds, fetches, runOptions) as ort.InferenceSession.ReturnType;
  return {
    inputNames,
    outputNames,
    inputMetadata,
    outputMetadata,
    runSync,
    run: async (feeds: ort.InferenceSession.FeedsType) => runSync(feeds),
    release: async () => session.dispose(),
  };
}
