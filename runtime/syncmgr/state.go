package syncmgr

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// The live state of every type, for Client.Info, mgrctl and the live page
// (mgr.StateReporter). Each takes its object's own lock and never waits.

func field(name string, v any) mgr.StateField { return mgr.StateField{Name: name, Value: v} }

// state describes the permits: free permits, holders (oldest first) and waiters.
func (p *permits) state(fields ...mgr.StateField) mgr.ObjectState {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := mgr.ObjectState{Fields: append(fields, field("free", p.avail), field("waiting", len(p.waiters)))}
	for id, h := range p.held {
		st.Holders = append(st.Holders, mgr.StateParty{Session: id, Op: "holds", Count: len(h.grants), Since: h.since})
	}
	slices.SortFunc(st.Holders, func(a, b mgr.StateParty) int { return a.Since.Compare(b.Since) })
	for _, w := range p.waiters {
		st.Waiters = append(st.Waiters, mgr.StateParty{Session: w.caller.ID(), Op: "acquire", Since: w.since})
	}
	return st
}

// MgrState describes the lock: locked, its holder and since when, its waiters.
func (l *Lock) MgrState() mgr.ObjectState {
	st := l.p.state()
	st.Fields = append([]mgr.StateField{field("locked", len(st.Holders) > 0 || st.Field("free") == 0)}, st.Fields...)
	for i := range st.Holders {
		st.Holders[i].Count = 0 // a Lock has one permit
	}
	return st
}

// MgrState describes the lock: locked, its owner, count and since when, its waiters.
func (r *RLock) MgrState() mgr.ObjectState {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := mgr.ObjectState{Fields: []mgr.StateField{field("locked", r.locked), field("count", r.count), field("waiting", len(r.waiters))}}
	if r.locked {
		st.Holders = []mgr.StateParty{{Session: r.owner, Op: "holds", Count: r.count, Since: r.since}}
	}
	for _, w := range r.waiters {
		st.Waiters = append(st.Waiters, mgr.StateParty{Session: w.caller.ID(), Op: "acquire", Since: w.since})
	}
	return st
}

// MgrState describes the semaphore: its value, the sessions holding permits, its waiters.
func (s *Semaphore) MgrState() mgr.ObjectState {
	st := s.p.state()
	st.Fields = append([]mgr.StateField{field("value", st.Field("free"))}, st.Fields...)
	return st
}

// MgrState describes the semaphore: its value and bound, holders and waiters.
func (s *BoundedSemaphore) MgrState() mgr.ObjectState {
	st := s.p.state(field("max", s.p.max))
	st.Fields = append([]mgr.StateField{field("value", st.Field("free"))}, st.Fields...)
	return st
}

// MgrState describes the condition: the sessions waiting to be notified, and whether
// its lock is held.
func (c *Condition) MgrState() mgr.ObjectState {
	locked := c.lock.isLocked()
	c.mu.Lock()
	defer c.mu.Unlock()
	st := mgr.ObjectState{Fields: []mgr.StateField{field("locked", locked), field("waiting", len(c.waiters))}}
	for _, w := range c.waiters {
		st.Waiters = append(st.Waiters, mgr.StateParty{Session: w.session, Op: "wait", Since: w.since})
	}
	return st
}

// MgrState describes the event: its flag and how many calls wait for it.
func (e *Event) MgrState() mgr.ObjectState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return mgr.ObjectState{Fields: []mgr.StateField{field("set", e.set), field("waiting", e.waiting)}}
}

// MgrState describes the barrier: its parties, how many wait, whether it is broken.
func (b *Barrier) MgrState() mgr.ObjectState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return mgr.ObjectState{Fields: []mgr.StateField{field("parties", b.parties), field("waiting", b.count), field("broken", b.broken)}}
}

// MgrState describes the queue: its length and bound, the blocked getters and putters,
// and the items not yet marked done.
func (q *Queue[T]) MgrState() mgr.ObjectState {
	q.mu.Lock()
	defer q.mu.Unlock()
	return mgr.ObjectState{Fields: []mgr.StateField{
		field("length", q.lenLocked()), field("maxsize", q.maxsize),
		field("getters", q.getWaiters), field("putters", q.putWaiters), field("unfinished", q.unfinished),
	}}
}

// MgrState describes the namespace: how many attributes it has.
func (n *Namespace) MgrState() mgr.ObjectState {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return mgr.ObjectState{Fields: []mgr.StateField{field("attributes", len(n.attrs))}}
}

// MgrState describes the dict: its length.
func (d *Dict[K, V]) MgrState() mgr.ObjectState {
	return mgr.ObjectState{Fields: []mgr.StateField{field("length", d.Len())}}
}

// MgrState describes the list: its length.
func (l *List[T]) MgrState() mgr.ObjectState {
	return mgr.ObjectState{Fields: []mgr.StateField{field("length", l.Len())}}
}

// MgrState describes the set: its length.
func (s *Set[T]) MgrState() mgr.ObjectState {
	return mgr.ObjectState{Fields: []mgr.StateField{field("length", s.Len())}}
}

// MgrState describes the value: the value itself, cut to 80 bytes of text.
func (v *Value[T]) MgrState() mgr.ObjectState {
	v.mu.Lock()
	var b strings.Builder
	preview(&b, reflect.ValueOf(v.v), 80) // not fmt.Sprint: a 32 MiB []byte made 460 MB of text
	v.mu.Unlock()
	s := b.String()
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return mgr.ObjectState{Fields: []mgr.StateField{field("value", s)}}
}

// MgrState describes the array: its length.
func (a *Array[T]) MgrState() mgr.ObjectState {
	return mgr.ObjectState{Fields: []mgr.StateField{field("length", a.Len())}}
}

// The state types implement mgr.StateReporter.
var (
	_ mgr.StateReporter = (*Lock)(nil)
	_ mgr.StateReporter = (*RLock)(nil)
	_ mgr.StateReporter = (*Semaphore)(nil)
	_ mgr.StateReporter = (*BoundedSemaphore)(nil)
	_ mgr.StateReporter = (*Condition)(nil)
	_ mgr.StateReporter = (*Event)(nil)
	_ mgr.StateReporter = (*Barrier)(nil)
	_ mgr.StateReporter = (*Queue[int])(nil)
	_ mgr.StateReporter = (*Namespace)(nil)
	_ mgr.StateReporter = (*Dict[string, int])(nil)
	_ mgr.StateReporter = (*List[int])(nil)
	_ mgr.StateReporter = (*Set[int])(nil)
	_ mgr.StateReporter = (*Value[int])(nil)
	_ mgr.StateReporter = (*Array[int])(nil)
)

// preview writes rv as fmt's %v does, stopping soon after b holds max bytes: strings,
// slices and maps are written only as far as that, so describing a large value costs
// what the description shows. Maps of more than 64 entries show some of them, not the
// first in order (sorting them all is what is avoided).
func preview(b *strings.Builder, rv reflect.Value, max int) {
	if b.Len() > max {
		return
	}
	if rv.IsValid() && rv.CanInterface() {
		switch rv.Interface().(type) {
		case fmt.Formatter, fmt.Stringer, error:
			fmt.Fprint(b, rv.Interface()) // the type's own text
			return
		}
	}
	switch rv.Kind() {
	case reflect.Interface:
		if !rv.IsNil() {
			preview(b, rv.Elem(), max)
			return
		}
	case reflect.String:
		b.WriteString(rv.String()[:min(rv.Len(), max+1-b.Len())])
		return
	case reflect.Slice:
		if rv.IsNil() {
			break
		}
		b.WriteByte('[')
		for i := range rv.Len() {
			if b.Len() > max {
				return
			}
			if i > 0 {
				b.WriteByte(' ')
			}
			preview(b, rv.Index(i), max)
		}
		b.WriteByte(']')
		return
	case reflect.Map:
		if rv.Len() <= 64 {
			break
		}
		b.WriteString("map[")
		for it, i := rv.MapRange(), 0; it.Next() && b.Len() <= max; i++ {
			if i > 0 {
				b.WriteByte(' ')
			}
			preview(b, it.Key(), max)
			b.WriteByte(':')
			preview(b, it.Value(), max)
		}
		b.WriteByte(']')
		return
	}
	if rv.IsValid() && rv.CanInterface() {
		fmt.Fprint(b, rv.Interface())
	} else {
		b.WriteString("<nil>")
	}
}
