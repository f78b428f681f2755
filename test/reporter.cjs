// Mocha's spec reporter, plus one closing line in the plain "N passed, N failed" form that CI reads.
// With TNTH_FAILURES_FILE set (dev/test.sh sets it), each failure's full title and the first line of
// its error are also appended there, so the suite can name them again at the very end of its output,
// where a reader of only the last lines (CI's excerpt) finds them.
'use strict';
const { appendFileSync } = require('node:fs');
const Spec = require('mocha').reporters.Spec;

class TnthReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    const failuresFile = process.env.TNTH_FAILURES_FILE;
    runner.on('fail', (test, error) => {
      if (!failuresFile) return;
      const message = String((error && error.message) || error)
        .split('\n')[0]
        .slice(0, 300);
      appendFileSync(failuresFile, `${test.fullTitle()}\n    ${message}\n`);
    });
    runner.once('end', () => {
      const { passes, failures, pending } = runner.stats;
      console.log(`tests: ${passes} passed, ${failures} failed, ${pending} skipped`);
    });
  }
}

module.exports = TnthReporter;
