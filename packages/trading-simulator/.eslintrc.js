module.exports = require('@backstage/cli/config/eslint-factory')(__dirname, {
  testRules: {
    // The promtool check runs as `itWithPromtool`: `it`, or `it.skip` where promtool is missing.
    'jest/no-standalone-expect': [
      'error',
      { additionalTestBlockFunctions: ['itWithPromtool'] },
    ],
  },
});
