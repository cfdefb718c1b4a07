// The ONNX ModelProto is encoded by hand (a few dozen lines of protobuf wire
// format) so that tests need neither a committed binary nor a protobuf library.
// Field numbers are those of onnx/onnx.proto3.

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const TENSOR_FLOAT = 1;

function varint(value: number): number[] {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push(v % 0x80 | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return bytes;
}

function tag(field: number, wire: number): number[] {
  return varint(field * 8 + wire);
}

function intField(field: number, value: number): number[] {
  return [...tag(field, WIRE_VARINT), ...varint(value)];
}

function bytesField(field: number, value: Uint8Array | number[]): number[] {
  return [...tag(field, WIRE_BYTES), ...varint(value.length), ...value];
}

function stringField(field: number, value: string): number[] {
  return bytesField(field, Array.from(Buffer.from(value, 'utf8')));
}

function tensor(name: string, dims: number[], values: Float32Array): number[] {
  const raw = new Uint8Array(
    values.buffer,
    values.byteOffset,
    values.byteLength,
  );
  return [
    ...dims.flatMap(d => intField(1, d)),
    ...intField(2, TENSOR_FLOAT),
    ...stringField(8, name),
    ...bytesField(9, Array.from(raw)),
  ];
}

/** A dimension is a fixed size or a symbolic name such as `batch`. */
function valueInfo(name: string, dims: Array<number | string>): number[] {
  const shape = dims.flatMap(d =>
    bytesField(1, typeof d === 'number' ? intField(1, d) : stringField(2, d)),
  );
  const tensorType = [...intField(1, TENSOR_FLOAT), ...bytesField(2, shape)];
  return [...stringField(1, name), ...bytesField(2, bytesField(1, tensorType))];
}

function node(opType: string, inputs: string[], outputs: string[]): number[] {
  return [
    ...inputs.flatMap(i => stringField(1, i)),
    ...outputs.flatMap(o => stringField(2, o)),
    ...stringField(3, `${opType}_${outputs[0]}`),
    ...stringField(4, opType),
  ];
}

/** Deterministic weights in [-0.5, 0.5), different for each tensor. */
function weights(count: number, seed: number): Float32Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    values[i] = Math.sin((i + 1) * 12.9898 + seed * 78.233) * 0.5;
  }
  return values;
}

/** Sizes of the test MLP; the defaults give input [batch, 8] → 16 → output [batch, 4]. */
export interface MlpModelOptions {
  inputSize?: number;
  hiddenSize?: number;
  outputSize?: number;
  /** Changes every weight, so two models of the same shape give different outputs. */
  seed?: number;
}

/**
 * Builds a small ONNX MLP (Gemm → Relu → Gemm, ir_version 8, opset 13) as model bytes.
 * Input `input` is [batch, inputSize], output `output` is [batch, outputSize].
 */
export function makeMlpModel(options: MlpModelOptions = {}): Uint8Array {
  const { inputSize = 8, hiddenSize = 16, outputSize = 4, seed = 1 } = options;
  // Gemm computes A·B + C; B is stored as [in, out] so no transB attribute is needed.
  const graph = [
    ...bytesField(1, node('Gemm', ['input', 'w1', 'b1'], ['hidden'])),
    ...bytesField(1, node('Relu', ['hidden'], ['activated'])),
    ...bytesField(1, node('Gemm', ['activated', 'w2', 'b2'], ['output'])),
    ...stringField(2, 'gekko_test_mlp'),
    ...bytesField(
      5,
      tensor(
        'w1',
        [inputSize, hiddenSize],
        weights(inputSize * hiddenSize, seed),
      ),
    ),
    ...bytesField(
      5,
      tensor('b1', [hiddenSize], weights(hiddenSize, seed + 0.25)),
    ),
    ...bytesField(
      5,
      tensor(
        'w2',
        [hiddenSize, outputSize],
        weights(hiddenSize * outputSize, seed + 0.5),
      ),
    ),
    ...bytesField(
      5,
      tensor('b2', [outputSize], weights(outputSize, seed + 0.75)),
    ),
    ...bytesField(11, valueInfo('input', ['batch', inputSize])),
    ...bytesField(12, valueInfo('output', ['batch', outputSize])),
  ];
  const model = [
    ...intField(1, 8),
    ...stringField(2, 'gekko-worker-tests'),
    ...bytesField(7, graph),
    ...bytesField(8, intField(2, 13)),
  ];
  return Uint8Array.from(model);
}
