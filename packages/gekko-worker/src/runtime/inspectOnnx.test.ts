import fs from 'node:fs';
import path from 'node:path';
import { makeMlpModel } from '../testing/makeMlpModel';
import { inspectOnnx } from './inspectOnnx';

describe('inspectOnnx', () => {
  it('reads the shipped forecaster’s signature', () => {
    const bytes = fs.readFileSync(
      path.resolve(__dirname, '../../../../models/nhits-price/1/model.onnx'),
    );
    const signature = inspectOnnx(bytes);
    expect(signature.inputs).toEqual([
      { name: 'window', dtype: 'float32', shape: [expect.any(String), 120] },
    ]);
    expect(signature.outputs).toEqual([
      {
        name: 'forecast',
        dtype: 'float32',
        // the exporter left the horizon symbolic; model.json declares 12
        shape: [expect.any(String), expect.any(String)],
      },
    ]);
    expect(signature.opsetVersion).toBe(13);
  });

  it('reads a generated model and leaves initializers out of the inputs', () => {
    const signature = inspectOnnx(
      makeMlpModel({ inputSize: 8, hiddenSize: 4, outputSize: 3 }),
    );
    expect(signature.inputs).toHaveLength(1);
    expect(signature.inputs[0].shape.slice(1)).toEqual([8]);
    expect(signature.outputs[0].shape.slice(1)).toEqual([3]);
  });

  it('refuses bytes that are not an ONNX model', () => {
    expect(() => inspectOnnx(new TextEncoder().encode('hello, world'))).toThrow(
      /not an ONNX model|truncated|wire type/,
    );
    expect(() => inspectOnnx(new Uint8Array([]))).toThrow(/no graph/);
  });
});
