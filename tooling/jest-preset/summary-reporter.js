// Writes <package>/.jest-results.json so `pnpm test` can print one total line over all packages.
// With EPG_TEST_BACKENDS a package runs jest once per backend; the runs append to the same file.
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }
  onRunComplete(_contexts, results) {
    const file = path.join(this.rootDir, '.jest-results.json');
    let runs = [];
    if (process.env.EPG_JEST_APPEND === '1' && fs.existsSync(file)) {
      try { runs = JSON.parse(fs.readFileSync(file, 'utf8')).runs ?? []; } catch { runs = []; }
    }
    runs.push({
      backend: process.env.EPG_TEST_LABEL ?? process.env.EPG_BACKEND ?? 'default',
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    });
    fs.writeFileSync(file, JSON.stringify({ runs }, null, 1));
  }
}
module.exports = SummaryReporter;
