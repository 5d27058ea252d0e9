#!/bin/bash
# `symbolic tokenize` of a folder: uninterrupted, then killed twice (SIGKILL of its process group once
# KILL1 and KILL2 token files exist) and resumed; the two output folders must be equal byte for byte.
#   benchmarks/tokenize_resume.sh MIDI_DIR SCRATCH [KILL1 KILL2]     (run from the repository root)
set -u
SRC=$1; WORK=$2; K1=${3:-300}; K2=${4:-600}
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
PY=${PYTHON:-python}
rm -rf "$WORK/tok-whole" "$WORK/tok-killed"
/usr/bin/time -f "whole: %e s wall, %U s user, %S s sys, %M KB max RSS" $PY -m symbolic tokenize "$SRC" --out "$WORK/tok-whole" --quiet
for at in $K1 $K2; do
  setsid $PY -m symbolic tokenize "$SRC" --out "$WORK/tok-killed" --quiet > /dev/null 2>&1 &
  pid=$!
  while [ "$(find "$WORK/tok-killed" -name '*.tokens.json' 2>/dev/null | wc -l)" -lt "$at" ]; do sleep 0.5; done
  kill -KILL -- -$pid; wait $pid 2>/dev/null
  echo "killed at $(find "$WORK/tok-killed" -name '*.tokens.json' | wc -l) token files, $(find "$WORK/tok-killed" -name '*.tmp' | wc -l) temporaries left"
done
/usr/bin/time -f "resume: %e s wall, %U s user, %S s sys, %M KB max RSS" $PY -m symbolic tokenize "$SRC" --out "$WORK/tok-killed" --quiet
echo "temporaries after resume: $(find "$WORK/tok-killed" -name '*.tmp' | wc -l)"
diff -r -x .lock "$WORK/tok-whole" "$WORK/tok-killed" && echo "identical: $(find "$WORK/tok-whole" -name '*.tokens.json' | wc -l) token files byte for byte"
