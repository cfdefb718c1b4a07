/*
 * Entry point of an embedded inference worker thread (see src/transport/thread/).
 *
 * In the repository the package runs from TypeScript sources, so the thread registers Backstage's
 * node transform first, unless the process already did (`backstage-cli package start` does);
 * a built package runs its compiled code directly.
 */
const pkg = require('./package.json');

if (pkg.main.endsWith('.ts') && !require.extensions['.ts']) {
  require('@backstage/cli-node/config/nodeTransform.cjs');
}

require(`./${pkg.main}`).runThreadWorker();
