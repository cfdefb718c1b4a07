import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import yaml from 'yaml';
import { gekkoPlugin } from '../plugin';

/** `METHOD /path/{param}` of every route in an Express layer stack, nested routers included. */
function routesOf(stack: any[]): string[] {
  return stack.flatMap(layer => {
    if (layer.route) {
      return Object.keys(layer.route.methods).map(
        m =>
          `${m.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`,
      );
    }
    return layer.handle?.stack ? routesOf(layer.handle.stack) : [];
  });
}

const spec = yaml.parse(
  fs.readFileSync(path.join(__dirname, 'openapi.yaml'), 'utf8'),
);
const documented: string[] = Object.entries(spec.paths).flatMap(([p, ops]) =>
  Object.keys(ops as object)
    .filter(k => k !== 'parameters')
    .map(m => `${m.toUpperCase()} ${p}`),
);

describe('openapi.yaml', () => {
  let server: Awaited<ReturnType<typeof startTestBackend>>['server'];

  beforeAll(async () => {
    ({ server } = await startTestBackend({
      features: [
        gekkoPlugin,
        // A request without a token is anonymous, as in production (the test default is a user).
        mockServices.httpAuth.factory({
          defaultCredentials: mockCredentials.none(),
        }),
        mockServices.rootConfig.factory({
          data: { gekko: { inference: { embedded: { workers: 0 } } } },
        }),
      ],
    }));
  });

  it('describes exactly the routes the plugin serves, as plugin.ts wires them', () => {
    // The test backend's Express app holds every plugin's router; only the gekko plugin's routes
    // start with one of the API's top-level segments.
    const app = server.listeners('request')[0] as any;
    const stack = (app._router ?? app.router).stack;
    const prefixes = new Set(
      documented.map(r => r.split(' ')[1].split('/')[1]),
    );
    const served = routesOf(stack).filter(r =>
      prefixes.has(r.split(' ')[1].split('/')[1]),
    );
    expect(served.sort()).toEqual([...documented].sort());
  });

  it.each(documented)(
    '%s refuses a request without credentials',
    async route => {
      const [method, p] = route.split(' ');
      const url = `/api/gekko${p.replace(/\{(\w+)\}/g, 'x')}`;
      const res = await (request(server) as any)[method.toLowerCase()](url);
      expect(res.status).toBe(401);
      expect(res.body.error.name).toBe('AuthenticationError');
    },
  );
});
