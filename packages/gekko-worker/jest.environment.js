// The Jest environment of the packages that run onnxruntime in the test process
// (@gekko/worker, the gekko backend and the scaffolder module, whose embedded workers run on the event
// loop on small hosts). onnxruntime-node's native binding creates output typed arrays in Node's main
// realm, and onnxruntime-common checks them with `instanceof` inside Jest's
// sandbox realm, where they fail ("A float32 tensor's data must be type of
// Float32Array"). Sharing the main realm's typed array classes fixes the check.
const { TestEnvironment } = require('jest-environment-node');

const TYPED_ARRAYS = [
  'Float32Array',
  'Float64Array',
  'Int8Array',
  'Int16Array',
  'Int32Array',
  'Uint8Array',
  'Uint16Array',
  'Uint32Array',
  'BigInt64Array',
  'BigUint64Array',
];

class OnnxTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED_ARRAYS) {
      this.global[name] = globalThis[name];
    }
  }
}

module.exports = OnnxTestEnvironment;
