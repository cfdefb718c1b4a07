/*
 * The Gekko portal's backend: Backstage's core plugins plus the Gekko control plane.
 */
import { createBackend } from '@backstage/backend-defaults';

const backend = createBackend();

backend.add(import('@backstage/plugin-app-backend'));
backend.add(import('@backstage/plugin-proxy-backend'));

// Scaffolder: the Gekko deployment templates land here.
backend.add(import('@backstage/plugin-scaffolder-backend'));
// gekko:deployment:validate, :create and :rollback.
backend.add(import('@gekko/plugin-scaffolder-backend-module-gekko'));
backend.add(
  import('@backstage/plugin-scaffolder-backend-module-notifications'),
);

// Auth: guest sign-in for the embedded default (user:default/guest).
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));

// Catalog, with the Gekko module: GPU pools as Resources, gekko.io annotations validated.
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(
  import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
);
backend.add(import('@backstage/plugin-catalog-backend-module-logs'));
backend.add(import('@gekko/plugin-catalog-backend-module-gekko'));

// Permissions, with the Gekko policy (README "Permissions").
backend.add(import('@backstage/plugin-permission-backend'));
backend.add(import('@gekko/plugin-permission-backend-module-gekko-policy'));

// Search over the catalog (in-memory Lunr index on the embedded default).
backend.add(import('@backstage/plugin-search-backend'));
backend.add(import('@backstage/plugin-search-backend-module-catalog'));

backend.add(import('@backstage/plugin-kubernetes-backend'));
backend.add(import('@backstage/plugin-user-settings-backend'));
backend.add(import('@backstage/plugin-notifications-backend'));
backend.add(import('@backstage/plugin-signals-backend'));

// Events: carries GPU pool changes to the catalog (across instances when there are several).
backend.add(import('@backstage/plugin-events-backend'));

// The Gekko control plane: GPU pools and the hash-chained audit trail.
backend.add(import('@gekko/plugin-gekko-backend'));

backend.start();
