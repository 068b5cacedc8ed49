#!/bin/sh
# Start-up time of the installed command, hyperfine-style: N runs each of
# `deskbridge --help` and `deskbridge map list` (and bare `node -e ''` for
# the floor), median and min in seconds. Needs a build (npm run build).
# Usage: scripts/startup-bench.sh [RUNS]   (uses a throwaway database)
set -eu
runs=${1:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export DESKBRIDGE_DATABASE="$work/bench.sqlite"
node "$root/bin/deskbridge.js" migrate >/dev/null
measure() {
  label=$1; shift
  i=0; : >"$work/times"
  while [ "$i" -lt "$runs" ]; do
    node -e 'const t=process.hrtime.bigint();const r=require("child_process").spawnSync(process.argv[1],process.argv.slice(2),{stdio:"ignore"});if(r.status)process.exit(r.status);process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e9)+"\n")' "$@" >>"$work/times"
    i=$((i + 1))
  done
  sort -n "$work/times" | awk -v label="$label" '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%-22s median %.3f s  min %.3f s  (%d runs)\n", label, m, a[1], NR }'
}
measure "node -e ''" node -e ''
measure "deskbridge --help" node "$root/bin/deskbridge.js" --help
measure "deskbridge map list" node "$root/bin/deskbridge.js" map list
