#!/usr/bin/env bash
# usage: apt-install.sh PACKAGE WHAT-NEEDS-IT
# Installs a Debian package when we are root and have apt-get; otherwise says what to run. Always exits 0.
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing $1 (Debian package $1) ..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null) \
    || echo "warning: apt-get install $1 failed; $2 will be unavailable" >&2
else
  echo "note: $1 is missing; $2 needs it: sudo apt-get install $1" >&2
fi
exit 0
