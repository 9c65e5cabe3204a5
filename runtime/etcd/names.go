package etcd

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Key names of waits and holds — a Lock's waiter keys, a Semaphore's permits, a
// Condition's waiters — are <lease>-<n>, unique within this manager (waiterSeq). A name
// this manager knows to be gone from etcd (it deleted the key itself, or never wrote
// it) is used again by the same session's next wait: etcd keeps an index entry for every
// key name ever written, deleted or not, until its history is compacted, and the reads
// of these prefixes (a Lock's free check on every Acquire, a Semaphore's state) walk
// all of them — with a new name per acquire, a Lock's Acquire had slowed 1.7× after
// 3,000 acquires. Reused, a session writes one name per wait it has at once.

var waiterSeq atomic.Uint64 // makes each new name unique within this manager

// maxSpare bounds the names kept, of sessions that may have ended.
const maxSpare = 8

// spareNames are names gone from etcd, to use again.
type spareNames struct {
	mu    sync.Mutex
	names []string
}

// name returns a spare name beginning with prefix (<...><lease>-), or a new one.
func (s *spareNames) name(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.names) - 1; i >= 0; i-- {
		if n := s.names[i]; strings.HasPrefix(n, prefix) {
			s.names = append(s.names[:i], s.names[i+1:]...)
			return n
		}
	}
	return prefix + strconv.FormatUint(waiterSeq.Add(1), 10)
}

// give keeps name, gone from etcd, for its session's next use. Only the call that
// deleted its key (or that got the name and never wrote it) gives it back: a name is
// never handed out twice.
func (s *spareNames) give(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.names) >= maxSpare {
		s.names = append(s.names[:0], s.names[1:]...)
	}
	s.names = append(s.names, name)
}
