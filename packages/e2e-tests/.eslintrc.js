module.exports = require('@backstage/cli/config/eslint-factory')(__dirname, {
  testRules: {
    // The browser test runs through `maybeIt`: `it`, or `it.skip` where no Chromium is found.
    'jest/no-standalone-expect': [
      'error',
      { additionalTestBlockFunctions: ['maybeIt'] },
    ],
  },
});
