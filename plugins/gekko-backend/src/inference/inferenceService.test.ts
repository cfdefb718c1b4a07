import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { ResponseError } from '@backstage/errors';
import { gekkoInferenceServiceRef } from '@gekko/plugin-gekko-node';
import express from 'express';
import path from 'node:path';
import request from 'supertest';
import { gekkoPlugin } from '../plugin';

jest.setTimeout(60_000);

const row = Array.from({ length: 120 }, (_, i) => 100 + Math.cos(i / 13));

/** A trading service's backend plugin that forecasts through the gateway. */
const tradingPlugin = createBackendPlugin({
  pluginId: 'trading',
  register(env) {
    env.registerInit({
      deps: {
        inference: gekkoInferenceServiceRef,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
      },
      async init({ inference, httpRouter, httpAuth }) {
        const router = express.Router();
        router.get('/forecast', async (req, res) => {
          try {
            const credentials = await httpAuth.credentials(req);
            const json = await inference.predict('nhits-price', [row, row], {
              credentials,
            });
            const binary = await inference.predictBinary(
              'nhits-price',
              2,
              Float32Array.from([...row, ...row]),
            );
            res.json({
              json,
              binary: {
                ...binary,
                data: Array.from(binary.outputs.forecast.data),
              },
            });
          } catch (error) {
            res.status(500).json({
              name: (error as Error).name,
              status: (error as ResponseError).statusCode,
              message: (error as Error).message,
            });
          }
        });
        router.get('/unknown-model', async (_req, res) => {
          try {
            await inference.predict('no-such-model', [row]);
            res.json({});
          } catch (error) {
            res.json({
              name: (error as Error).name,
              status: (error as ResponseError).statusCode,
              message: (error as ResponseError).body?.error?.message,
            });
          }
        });
        httpRouter.use(router);
      },
    });
  },
});

describe('gekkoInferenceServiceRef', () => {
  it('lets another backend plugin forecast through the gateway, in JSON and binary, with service auth', async () => {
    const { server } = await startTestBackend({
      features: [
        gekkoPlugin,
        tradingPlugin,
        mockServices.rootConfig.factory({
          data: {
            gekko: {
              gpuPools: [
                {
                  name: 'cpu-dr',
                  title: 'CPU',
                  accelerator: 'cpu',
                  region: 'dr',
                  capacity: { devices: 0, memoryGiB: 8 },
                  owner: 'group:default/platform',
                },
              ],
              inference: {
                modelsDir: path.resolve(__dirname, '../../../../models'),
                embedded: { workers: 1, pool: 'cpu-dr' },
                models: [
                  {
                    name: 'nhits-price',
                    version: '1',
                    artifact: 'nhits-price/1/model.onnx',
                    pools: ['cpu-dr'],
                  },
                ],
              },
            },
          },
        }),
      ],
    });
    const user = mockCredentials.user.header('user:default/ava');
    let forecast: request.Response | undefined;
    for (let i = 0; i < 200; i++) {
      forecast = await request(server)
        .get('/api/trading/forecast')
        .set('Authorization', user);
      if (forecast.status === 200) break;
      await new Promise(r => setTimeout(r, 100)); // workers still loading the model
    }
    expect(forecast!.status).toBe(200);
    const { json, binary } = forecast!.body;
    expect(json).toMatchObject({
      model: 'nhits-price',
      version: '1',
      pool: 'cpu-dr',
      provider: 'cpu',
      outputs: { forecast: { shape: [2, 12] } },
    });
    expect(binary).toMatchObject({
      model: 'nhits-price',
      version: '1',
      provider: 'cpu',
      worker: expect.stringMatching(/^embedded-cpu-dr-1$/),
    });
    expect(binary.outputs.forecast.shape).toEqual([2, 12]);
    expect(binary.data).toEqual(
      json.outputs.forecast.data.map((v: number) => Math.fround(v)),
    );

    const missing = await request(server)
      .get('/api/trading/unknown-model')
      .set('Authorization', user);
    expect(missing.body).toMatchObject({
      name: 'ResponseError',
      status: 404,
      message: expect.stringMatching(/No model named no-such-model/),
    });
  });
});
