// Mocha's spec reporter, plus one closing line in the plain "N passed, N failed" form that CI reads.
'use strict';
const Spec = require('mocha').reporters.Spec;

class TnthReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once('end', () => {
      const { passes, failures, pending } = runner.stats;
      console.log(`tests: ${passes} passed, ${failures} failed, ${pending} skipped`);
    });
  }
}

module.exports = TnthReporter;
