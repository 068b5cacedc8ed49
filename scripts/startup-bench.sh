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
    /usr/bin/time -f '%e %U %S' -a -o "$work/times" "$@" >/dev/null 2>&1
    i=$((i + 1))
  done
  # wall clock median and min; CPU (user + system) median, which a busy machine disturbs less
  awk '{ print $1, $2 + $3 }' "$work/times" | sort -n | awk -v label="$label" '{ w[NR] = $1; c[NR] = $2 } END {
    n = asort(c); m = (NR % 2) ? w[(NR + 1) / 2] : (w[NR / 2] + w[NR / 2 + 1]) / 2; mc = (n % 2) ? c[(n + 1) / 2] : (c[n / 2] + c[n / 2 + 1]) / 2
    printf "%-22s wall median %.3f s  min %.3f s   cpu median %.3f s  (%d runs)\n", label, m, w[1], mc, NR }'
}
measure "node -e ''" node -e ''
measure "deskbridge --help" node "$root/bin/deskbridge.js" --help
measure "deskbridge map list" node "$root/bin/deskbridge.js" map list
