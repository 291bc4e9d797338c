#!/usr/bin/env bash
# From a fresh clone on Debian 12 to the narrated demo, in one command:
#   sudo bash scripts/demo.sh            # plays the story, then leaves the pair running until Ctrl-C
#   sudo bash scripts/demo.sh --ci       # plays the story and exits (what the test suite runs)
# Installs Redis and SIPp (apt), builds drachtio-server (scripts/install-drachtio-server.sh,
# cached), installs the npm dependencies and builds, then runs demo/run.ts on 127.0.5.x.
# Needs Node.js 20 or newer on PATH (Debian 12's own nodejs is 18).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
say() { printf 'demo: %s\n' "$*" >&2; }
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
  say "Node.js 20 or newer is needed on PATH (found: $(node --version 2>/dev/null || echo none)); see README, 'Set up'"
  exit 2
fi
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v sipp >/dev/null || missing+=(sip-tester)
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { say "run as root (or with sudo) to install ${missing[*]}"; exit 2; }
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Cached by its source's sha256: seconds once built, about 6 minutes on 2 cores the first time.
command -v drachtio >/dev/null || bash scripts/install-drachtio-server.sh
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
say "set-up done in $(( $(date +%s) - started )) s"
exec node --import @tapjs/typescript/import demo/run.ts "$@"
