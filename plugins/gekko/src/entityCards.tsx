import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { isTradingService } from './entityContents';

/**
 * The Trading health card on a trading service's overview: its state, each SLO's state, the
 * alerts firing, and a link to the Trading health tab.
 *
 * @public
 */
export const entityTradingHealthCard = EntityCardBlueprint.make({
  name: 'trading-health',
  params: {
    filter: isTradingService,
    loader: () =>
      import('./health/TradingHealthCard').then(m => <m.TradingHealthCard />),
  },
});

/**
 * The Trading health card on a System's overview: each of its trading services with its state,
 * its SLOs' states and its alerts firing, the worst state on top.
 *
 * @public
 */
export const entitySystemTradingHealthCard = EntityCardBlueprint.make({
  name: 'system-trading-health',
  params: {
    filter: { kind: 'system' },
    loader: () =>
      import('./health/SystemTradingHealthCard').then(m => (
        <m.SystemTradingHealthCard />
      )),
  },
});
