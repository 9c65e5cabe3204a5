//go:build race

package mgr

// raceEnabled reports a -race build: tests too slow under the race detector skip.
const raceEnabled = true
