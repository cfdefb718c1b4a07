import { mockServices } from '@backstage/backend-test-utils';
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'yaml';
import { createRouter } from '../service/createRouter';

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

describe('openapi.yaml', () => {
  it('describes exactly the routes the router serves', () => {
    const spec = yaml.parse(
      fs.readFileSync(path.join(__dirname, 'openapi.yaml'), 'utf8'),
    );
    const documented = Object.entries(spec.paths).flatMap(([p, ops]) =>
      Object.keys(ops as object)
        .filter(k => k !== 'parameters')
        .map(m => `${m.toUpperCase()} ${p}`),
    );
    const router = createRouter({
      logger: mockServices.logger.mock(),
      guard: {} as any,
      audit: {} as any,
      pools: {} as any,
      manager: {} as any,
      history: {} as any,
      metrics: {} as any,
      models: {} as any,
      gateway: {} as any,
    });
    expect(routesOf((router as any).stack).sort()).toEqual(documented.sort());
  });
});
