#!/usr/bin/env bash
# Make sure the FluidSynth shared library (used by pyfluidsynth) is present.
# Installs Debian's package when missing and we are root; otherwise says what to run.
if ldconfig -p 2>/dev/null | grep -q 'libfluidsynth\.so'; then
  exit 0
fi
exec bash "$(dirname "$0")/apt-install.sh" fluidsynth "audio rendering"
