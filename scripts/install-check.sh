#!/bin/sh
# The install path as an admin takes it, end to end: pack the checkout
# (`npm pack` builds dist/ through `prepare`), install the tarball globally
# into a throwaway prefix, then from an unrelated folder run `deskbridge
# --help`, `init`, `doctor` and `run` (stopped with SIGTERM, which must exit 0).
# Not part of `npm test`: installing compiles better-sqlite3 unless a prebuilt
# binary is at hand, which takes minutes. Usage: scripts/install-check.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step() { printf '\n== %s\n' "$*"; }

step "npm pack (builds dist/)"
tarball=$(cd "$root" && npm pack --silent --pack-destination "$work" | tail -n 1)
tar -tzf "$work/$tarball" | grep -q 'package/dist/src/cli/main.js'
if tar -tzf "$work/$tarball" | grep -q '^package/src/\|^package/test/'; then echo "the package ships sources or tests" >&2; exit 1; fi

step "npm install -g into $work/prefix"
npm install -g --prefix "$work/prefix" --no-audit --no-fund "$work/$tarball" >/dev/null 2>"$work/npm.log" || { cat "$work/npm.log" >&2; exit 1; }
bin="$work/prefix/bin/deskbridge"

site="$work/site"; elsewhere="$work/elsewhere"; mkdir -p "$site" "$elsewhere"
cd "$site"
step "deskbridge --help (from $site)"
"$bin" --help | head -n 3
step "deskbridge init"
"$bin" init
step "deskbridge doctor (from another folder, through DESKBRIDGE_CONFIG)"
cd "$elsewhere"
export DESKBRIDGE_CONFIG="$site/deskbridge.config.json"
DESKBRIDGE_SECRET=install-check-secret-0123456789 "$bin" doctor || true   # no IMAP configured: the settings check fails, the rest must pass
DESKBRIDGE_SECRET=install-check-secret-0123456789 "$bin" doctor --json >"$work/doctor.json" || true
node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const bad = c.filter((x) => !x.ok && x.name !== "settings"); if (bad.length) { console.error(bad); process.exit(1); }' "$work/doctor.json"
[ ! -e "$elsewhere/deskbridge.sqlite" ] || { echo "a database was created in the working directory" >&2; exit 1; }

step "deskbridge run (an IMAP URL to a closed port: the bridge starts, retries, stops on SIGTERM)"
DESKBRIDGE_IMAP=imap://u:p@127.0.0.1:9/INBOX DESKBRIDGE_SECRET=install-check-secret-0123456789 DESKBRIDGE_HTTP=127.0.0.1:0 \
  "$bin" run >"$work/run.log" 2>&1 &
pid=$!
i=0   # SIGTERM once it is up (its first log line), not while Node is still loading
while [ ! -s "$work/run.log" ] && [ "$i" -lt 120 ]; do sleep 1; i=$((i + 1)); done
sleep 2
kill -TERM "$pid"
wait "$pid" && echo "run stopped cleanly (exit 0)" || { echo "run exited $?" >&2; cat "$work/run.log" >&2; exit 1; }
head -c 400 "$work/run.log"; echo
step "ok: $tarball installs and runs from any directory"
