#!/usr/bin/env bash
# Make sure Debian's chromium is present for the browser test of `symbolic serve` (tests/serve/test_page.py).
# Playwright drives it through executable_path=/usr/bin/chromium; no browser is ever downloaded.
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
exec bash "$(dirname "$0")/apt-install.sh" chromium "the browser test of symbolic serve"
