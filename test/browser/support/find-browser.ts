/**
 * `tsx test/browser/support/find-browser.ts`: which Chromium the browser tests would use.
 * Prints it and exits 0, or prints why none launched and exits 1. `.ci/run` calls it to decide
 * whether to install Debian's chromium. Leaves no browser process behind (a probe launch only).
 */
import { findBrowser } from './browser.js';

const { candidate, problems } = await findBrowser();
if (candidate) {
  console.log(`browser: ${candidate.source} Chromium ${candidate.version} at ${candidate.executablePath}`);
} else {
  console.log(`no browser launched:\n  ${problems.join('\n  ')}`);
  process.exitCode = 1;
}
