#!/usr/bin/env bash
# Installs what the tests drive for real and npm cannot provide, from Debian's packages,
# when it is missing and this is root: redis-server (the Redis transport), postgresql (the
# PostgreSQL transport: the tests run its initdb and postgres binaries themselves, from
# /usr/lib/postgresql/<version>/bin) and chromium (the browser tests, driven by
# playwright-core; no browser download). Without them, CI fails here with the reason; a
# local run goes on and those tests skip with a warning.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# Debian's postgresql keeps its server binaries off the PATH, one directory per version.
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test tools: installing ${missing[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

message="test tools: ${missing[*]} missing, and this is not root on Debian: install it (apt-get install ${missing[*]})."
if [ -n "${CI:-}" ]; then
  echo "$message" >&2
  exit 1
fi
echo "⚠ $message The tests that need it are skipped." >&2
