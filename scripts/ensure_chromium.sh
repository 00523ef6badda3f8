#!/usr/bin/env bash
# Installs Debian's headless Chromium for the web page's real-browser test, when we can (root + apt-get).
# Without it tests/test_app_browser.py is skipped with a reason; everything else still runs.
set -u
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the browser test (Debian package)…"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "note: could not install chromium; the browser test will be skipped"
else
  echo "note: /usr/bin/chromium is missing and cannot be installed here; the browser test will be skipped"
fi
exit 0
