#!/usr/bin/env bash
# Make sure Debian's chromium is present for the browser test of `symbolic serve` (tests/serve/test_page.py).
# Playwright drives it through executable_path=/usr/bin/chromium; no browser is ever downloaded.
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium (Debian package chromium) ..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: apt-get install chromium failed; the browser test will be skipped" >&2
else
  echo "note: chromium is missing; the browser test needs it: sudo apt-get install chromium" >&2
fi
exit 0
