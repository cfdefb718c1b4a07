import express from 'express';
import Router from 'express-promise-router';
import { execFileSync } from 'node:child_process';
import { Registry } from 'prom-client';
import request from 'supertest';
import { findTestBinary } from '../__testUtils__/binaries';
import { apiMetrics } from './ApiMetrics';

const promtool = findTestBinary(
  'promtool',
  'promtool check metrics of the API metrics',
);
const itWithPromtool = promtool ? it : it.skip;

describe('apiMetrics', () => {
  const registry = new Registry();
  const router = Router();
  router.get('/pools/:name', (_req, res) => {
    res.json({});
  });
  router.get('/broken', () => {
    throw new Error('bug');
  });
  const app = express()
    .use('/api/gekko', apiMetrics(registry), router)
    .use(
      (
        _e: Error,
        _q: express.Request,
        res: express.Response,
        _n: express.NextFunction,
      ) => {
        res.status(500).json({});
      },
    );

  beforeAll(async () => {
    await request(app).get('/api/gekko/pools/a');
    await request(app).get('/api/gekko/pools/b');
    await request(app).get('/api/gekko/nothing');
    await request(app).get('/api/gekko/broken');
  });

  it('measures each request by route pattern and status, and counts a 5xx as an error', async () => {
    const text = await registry.metrics();
    expect(text).toMatch(
      /gekko_http_request_duration_seconds_count\{route="\/api\/gekko\/pools\/:name",method="GET",code="200"\} 2/,
    );
    expect(text).toMatch(
      /gekko_http_request_duration_seconds_count\{route="unmatched",method="GET",code="404"\} 1/,
    );
    expect(text).toMatch(/gekko_requests_total\{outcome="success"\} 3/);
    expect(text).toMatch(/gekko_requests_total\{outcome="error"\} 1/);
    // The SLO limit of 50 ms is a bucket bound, as the rules read it.
    expect(text).toContain('le="0.05"');
  });

  itWithPromtool('passes promtool check metrics', async () => {
    execFileSync(promtool!, ['check', 'metrics'], {
      input: await registry.metrics(),
    });
  });
});
