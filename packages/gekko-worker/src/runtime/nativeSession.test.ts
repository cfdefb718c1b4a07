import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { makeMlpModel } from '../testing/makeMlpModel';
import { createHostSession } from './nativeSession';

const nhits = path.resolve(
  __dirname,
  '../../../../models/nhits-price/1/model.onnx',
);

describe('createHostSession', () => {
  it.each([
    ['a file', nhits, 'window', 120],
    ['bytes', makeMlpModel(), 'input', 8],
  ])(
    'describes and runs a model from %s exactly as the public onnxruntime session does, and synchronously',
    async (_, model, inputName, width) => {
      const session = await createHostSession(model, {
        executionProviders: ['cpu'],
        intraOpNumThreads: 1,
      });
      const reference = await ort.InferenceSession.create(model as string, {
        executionProviders: ['cpu'],
      });
      try {
        expect(session.inputNames).toEqual(reference.inputNames);
        expect(session.outputNames).toEqual(reference.outputNames);
        expect(session.inputMetadata).toEqual(reference.inputMetadata);
        expect(session.outputMetadata).toEqual(reference.outputMetadata);

        const input = Float32Array.from(
          { length: 3 * width },
          (__, i) => 100 + Math.sin(i / 9),
        );
        const feeds = {
          [inputName]: new ort.Tensor('float32', input, [3, width]),
        };
        expect(session.runSync).toBeDefined();
        const now = session.runSync!(feeds);
        const later = await session.run(feeds);
        const expected = await reference.run(feeds);
        for (const name of reference.outputNames) {
          expect(now[name]).toBeInstanceOf(ort.Tensor);
          expect(now[name].dims).toEqual(expected[name].dims);
          expect(now[name].data).toEqual(expected[name].data);
          expect(later[name].data).toEqual(expected[name].data);
        }
      } finally {
        await session.release();
        await reference.release();
      }
    },
  );

  it('refuses a model it cannot read, as the public API does', async () => {
    await expect(
      createHostSession(new Uint8Array([1, 2, 3]), {}),
    ).rejects.toThrow();
  });
});
