#!/usr/bin/env bash
# Make sure the FluidSynth shared library (used by pyfluidsynth) is present.
# Installs Debian's package when missing and we are root; otherwise says what to run.
if ldconfig -p 2>/dev/null | grep -q 'libfluidsynth\.so'; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing FluidSynth (Debian package fluidsynth) ..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fluidsynth >/dev/null) \
    || echo "warning: apt-get install fluidsynth failed; audio rendering will be unavailable" >&2
else
  echo "note: the FluidSynth library is missing; audio rendering needs it: sudo apt-get install fluidsynth" >&2
fi
exit 0
