package mgr

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Waiting for a peer that answers within microseconds: a goroutine that parks in the
// network poller is woken through the runtime's scheduler, and on a small machine that
// wake-up — a futex, a context switch, often another thread's — costs more than the
// peer's whole answer (a sequential call was 21 µs parked against 6 µs polling, measured
// by mgrbench on 2 vCPUs). So a reader whose peer has been answering within the window
// polls the socket for that long (raw non-blocking reads, rawio_linux.go) before it
// parks. It is adaptive and bounded: a reader polls only while its peer keeps answering
// soon (one that times out parks from then on, until an answer comes within two
// windows again, or one of its probes — a poll every probeEvery reads — is answered);
// at most half the Ps' worth of readers of one Server or Client poll at once; a
// client's does not while it has other calls in flight (their replies come anyway); and
// the CPython front-end's readers never poll: a CPython client takes longer than the
// window between calls, so polling there only took CPU from the clients (4 CPython
// processes: 78k calls/s without it, 59k with it). Idle sessions never burn a core.
// Options.SpinWait sets the window; negative turns polling off.

// defaultSpinWait is Options.SpinWait's default: a sequential call's round trip on a
// loaded 2-vCPU machine fits, a wasted poll costs little.
const defaultSpinWait = 20 * time.Microsecond

// pollBudget is the polling budget of one Server's or one Client's readers.
type pollBudget struct {
	window time.Duration
	slots  atomic.Int32 // readers that may start polling now
	// busy, when set, says polling would take CPU from work that is already flowing: a
	// client with other calls in flight gets their replies without asking.
	busy func() bool
}

// newPollBudget returns the budget for o, or nil (never poll) when o turns polling off or
// the process has a single P, where a poller would only keep the peer it waits for off
// the CPU.
func newPollBudget(o Options) *pollBudget {
	w := o.SpinWait
	if w == 0 {
		w = defaultSpinWait
	}
	procs := runtime.GOMAXPROCS(0)
	if w < 0 || procs < 2 || runtime.NumCPU() < 2 {
		return nil
	}
	s := &pollBudget{window: w}
	s.slots.Store(int32(max(1, procs/2))) // half the Ps at most: the rest run the calls
	return s
}

// take reports whether a reader may poll now; one that may gives its slot back (give).
func (s *pollBudget) take() bool {
	if s == nil || (s.busy != nil && s.busy()) {
		return false
	}
	for {
		n := s.slots.Load()
		if n <= 0 {
			return false
		}
		if s.slots.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

func (s *pollBudget) give() { s.slots.Add(1) }

// probeEvery is how many parked reads a reader that is not hot makes before it polls
// once anyway. Reheating alone can deadlock cold: when both sides park, each one's wait
// holds the other's wake-up as well as its own, and on a slow-waking machine that pair
// can exceed reheat on every read, so neither side polls again though polling would
// answer well within the window (mgrbench's sequential p50 was 6 µs or 21 µs from one
// run to the next). A probe that is answered makes the reader hot; one that is not costs
// a window of CPU every probeEvery reads of a slow peer.
const probeEvery = 8

// probe counts a read of a reader that is not hot and reports whether it polls once.
func (s *pollBudget) probe(cold *int) bool {
	if s == nil {
		return false
	}
	*cold++
	if *cold < probeEvery {
		return false
	}
	*cold = 0
	return true
}

// reheat is how soon after a read began the data it parked for must have come for the
// reader to poll again next time. Longer than the window: a parked wait includes this
// side's wake-up, and the peer's, which polling on both sides saves.
func (s *pollBudget) reheat() time.Duration { return 2 * s.window }
