import { modelVersions } from '../testUtils/gpuFixtures';
import { trafficShares } from './trafficShares';

describe('trafficShares', () => {
  it("shares a model's traffic among its deployed versions on every pool, by weight", () => {
    const shares = trafficShares(modelVersions);

    expect(Object.fromEntries(shares)).toEqual({
      'price-forecaster@3': { percent: 60, totalWeight: 500 },
      'price-forecaster@4': { percent: 20, totalWeight: 500 },
      'price-forecaster@4-canary': { percent: 20, totalWeight: 500 },
      'spread-classifier@1': { percent: 100, totalWeight: 100 },
    });
  });

  it('gives a model whose weights are all 0 no share rather than dividing by 0', () => {
    const [version] = modelVersions;

    const shares = trafficShares([{ ...version, weight: 0 }]);

    expect(shares.get('price-forecaster@3')).toEqual({
      percent: 0,
      totalWeight: 0,
    });
  });
});
