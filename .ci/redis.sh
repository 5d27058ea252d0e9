#!/usr/bin/env bash
# Make sure Debian's redis-server is present for the RQ queue of `symbolic serve --queue rq`
# and its tests (tests/serve/test_queue.py start their own server on a free loopback port).
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
exec bash "$(dirname "$0")/apt-install.sh" redis-server "the Redis queue of symbolic serve (--queue rq) and its tests"
