# The console in headless Chromium (skipped without /usr/bin/chromium or playwright-core).
TESTS += tests/browser/console_run.sh
EXTRA_DIST += tests/browser/console_run.sh tests/browser/console.mjs
