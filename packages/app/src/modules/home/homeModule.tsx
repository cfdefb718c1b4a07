import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { HomePageLayoutBlueprint } from '@backstage/plugin-home-react/alpha';

/**
 * The home page's layout: the Gekko home in place of the home plugin's customizable grid of
 * widgets, which holds nothing of the trading system (jokes, clocks, links).
 */
const gekkoHomeLayout = HomePageLayoutBlueprint.make({
  params: {
    loader: () => import('./GekkoHomePage').then(m => m.GekkoHomePage),
  },
});

/** The Gekko portal's home page, at `/home`. */
export const homeModule = createFrontendModule({
  pluginId: 'home',
  extensions: [gekkoHomeLayout],
});
