#!/bin/sh
# Runs every fuzz target for a short, bounded time (FUZZTIME, default 10s each), one at a
# time with one worker, so CI stays cheap. Longer runs: FUZZTIME=10m .ci/fuzz.sh
set -eu
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-10s}"
run() {
	pkg=$1
	shift
	for target in "$@"; do
		echo "fuzz $pkg $target ($FUZZTIME)"
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" -parallel=1 "$pkg"
	done
}
run ./internal/wire FuzzReader FuzzServerHandshake FuzzClientHandshake
run ./runtime/mgr FuzzDecode FuzzServerFrames
run ./runtime/syncmgr FuzzSyncServerFrames
