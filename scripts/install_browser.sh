#!/usr/bin/env bash
# Installs Debian's chromium (headless screenshots of report.html in the test suite) when it
# is missing. Best effort: without root or password-less sudo, or without the package, it
# says so and the screenshot test is skipped with that reason.
set -uo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
echo "chromium is not installed: installing Debian's chromium for the report screenshot test"
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends chromium \
    >/dev/null
else
  echo "note: cannot install chromium (not root and no password-less sudo); the report" \
       "screenshot test will be skipped. Run: sudo apt-get install chromium" >&2
fi
exit 0
