import { createApp } from '@backstage/frontend-defaults';
import { navModule } from './modules/nav';
import { homeModule } from './modules/home';

// The plugins come from `app.packages: all` (every front-end plugin this package depends on);
// only the app's own modules are listed here.
export default createApp({
  features: [navModule, homeModule],
});
