module.exports = require('@backstage/cli/config/eslint-factory')(__dirname, {
  testRules: {
    // Checks that need a tool run as `itWithPromtool`: `it`, or `it.skip` where promtool is
    // missing, so that they count as skipped rather than passed.
    'jest/no-standalone-expect': [
      'error',
      { additionalTestBlockFunctions: ['itWithPromtool'] },
    ],
  },
});
