package wire

import "io"

// ReplayLog keeps the frames a Writer has written that the peer has not acknowledged,
// so that a session whose connection broke can go on over a new one: the frames the peer
// missed are written again, in order, and nothing is sent twice. Frames are numbered
// from 1 in the order they were written; the peer acknowledges by number (Ack). The log
// holds at most max bytes; past that it gives up for good (Overflowed): a break then ends
// the session.
//
// A ReplayLog is used by exactly one Writer, under the Writer's lock.
type ReplayLog struct {
	data     []byte // the frames, back to back, from data[start:]
	start    int
	lens     []int // each frame's length, oldest first, from lens[head:]
	head     int
	first    uint64 // the number of the oldest frame kept
	next     uint64 // the number the next frame gets
	max      int
	overflow bool
}

// NewReplayLog returns a log that keeps at most max bytes of unacknowledged frames.
func NewReplayLog(max int) *ReplayLog {
	return &ReplayLog{first: 1, next: 1, max: max}
}

func (l *ReplayLog) record(frame []byte) {
	l.next++
	if l.overflow {
		return
	}
	if len(l.data)-l.start+len(frame) > l.max {
		l.overflow = true
		l.data, l.lens = nil, nil
		return
	}
	if l.start > 0 && l.start >= len(l.data)/2 {
		// Compact: the acknowledged half goes.
		n := copy(l.data, l.data[l.start:])
		l.data = l.data[:n]
		l.start = 0
		m := copy(l.lens, l.lens[l.head:])
		l.lens = l.lens[:m]
		l.head = 0
	}
	l.data = append(l.data, frame...)
	l.lens = append(l.lens, len(frame))
}

// ack forgets the frames numbered up to n. A number beyond what was written is the
// peer's error: it reports false.
func (l *ReplayLog) ack(n uint64) bool {
	if n >= l.next {
		return false
	}
	for l.first <= n {
		if !l.overflow && l.head < len(l.lens) {
			l.start += l.lens[l.head]
			l.head++
		}
		l.first++
	}
	return true
}

// Overflowed reports whether the log gave up keeping frames.
func (l *ReplayLog) Overflowed() bool { return l.overflow }

// Sent returns how many frames have been written.
func (l *ReplayLog) Sent() uint64 { return l.next - 1 }

// replay writes the frames numbered after n to w.
func (l *ReplayLog) replay(w io.Writer) error {
	off := l.start
	for _, n := range l.lens[l.head:] {
		if _, err := w.Write(l.data[off : off+n]); err != nil {
			return err
		}
		off += n
	}
	return nil
}
