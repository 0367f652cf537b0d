// One jest preset for every package: ts-jest on src/, isolated modules (type checking is its own task),
// and a reporter that leaves a per-package JSON summary for the root test script to total up.
const path = require('node:path');

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: process.env.EPG_SLOW ? [] : ['\\.slow\\.test\\.ts$'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  reporters: ['default', path.join(__dirname, 'summary-reporter.js')],
  testTimeout: 60_000,
};
