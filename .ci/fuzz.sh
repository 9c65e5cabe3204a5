#!/bin/sh
# Runs every fuzz target for a bounded number of executions, one at a time with one
# worker, so CI stays cheap (a few seconds each). Counts, not durations: with a duration,
# Go 1.26's fuzz coordinator can report a bare "context deadline exceeded" failure when
# the time runs out while an input is executing (go.dev/issue/75804, fixed in Go 1.27) —
# a flake with no failing input. Longer runs: FUZZTIME=10m .ci/fuzz.sh (any -fuzztime
# value; it then applies to every target).
set -eu
cd "$(dirname "$0")/.."
run() {
	pkg=$1
	target=$2
	budget="${FUZZTIME:-$3}"
	echo "fuzz $pkg $target ($budget)"
	go test -run='^$' -fuzz="^${target}\$" -fuzztime="$budget" -parallel=1 "$pkg"
}
run ./internal/wire FuzzReader 30000x
run ./internal/wire FuzzServerHandshake 30000x
run ./internal/wire FuzzClientHandshake 30000x
run ./runtime/mgr FuzzDecode 5000x
run ./runtime/mgr FuzzServerFrames 3000x
run ./runtime/mgr FuzzResumeHandshake 3000x
run ./runtime/syncmgr FuzzSyncServerFrames 3000x
run ./runtime/pyproto/pickle FuzzDecode 30000x
run ./runtime/pyproto/wire FuzzHandshake 30000x
run ./runtime/mgr FuzzPyRequest 30000x
