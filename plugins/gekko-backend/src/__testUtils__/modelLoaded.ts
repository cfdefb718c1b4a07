import request from 'supertest';
import { until } from './until';

/**
 * Waits until model `name@version` is loaded on at least `workers` workers of the backend behind
 * `server` (asked with the `Authorization` header `auth`). For tests.
 */
export async function modelLoaded(
  server: Parameters<typeof request>[0],
  auth: string,
  options: { name?: string; version?: string; workers?: number } = {},
): Promise<void> {
  const { name = 'mlp', version = '1', workers = 1 } = options;
  await until(
    async () => {
      const res = await request(server)
        .get(`/api/gekko/inference/models/${name}/versions/${version}`)
        .set('Authorization', auth);
      return res.body.placements?.length >= workers;
    },
    `${name}@${version} loaded on ${workers} worker(s)`,
    60_000,
  );
}
