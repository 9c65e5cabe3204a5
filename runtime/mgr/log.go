package mgr

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Logging.
//
// Everything the manager and clients report goes to Options.Logger as structured records
// with these attributes, where they apply:
//
//	session  the manager's ID of a client session
//	pid      the client's process ID
//	peer     the remote address of a connection
//	program  the client's program name
//	typeid   an object's type
//	object   an object's ID
//	method   a method's name
//	err      what went wrong
//
// Levels: Warn for what an operator should look at (a failed handshake, a session that
// ended with an error, a lock abandoned by a session that died holding it, a slow call),
// Info for the life of sessions (lost, resumed), Debug for the rest.
//
// A child-process manager (Start) cannot be handed a *slog.Logger: it writes its records
// as JSON lines on a pipe, and the parent decodes each one and hands it, with its level,
// message, time and attributes (and manager_pid, the child's), to its own Logger's
// handler (forwardLog). The parent tells the child the lowest level its handler is enabled for, so
// the child does not write records the parent would drop.

// Attribute keys of the runtime's log records.
const (
	LogSession = "session"
	LogPID     = "pid"
	LogPeer    = "peer"
	LogProgram = "program"
	LogTypeID  = "typeid"
	LogObject  = "object"
	LogMethod  = "method"
	LogErr     = "err"
)

// log returns the logger the options name: Logger, or Logf behind a handler that formats
// records as text, or nil for none.
func (o *Options) log() *slog.Logger {
	switch {
	case o.Logger != nil:
		return o.Logger
	case o.Logf != nil:
		return slog.New(&logfHandler{logf: o.Logf})
	}
	return nil
}

// logAt logs msg at level with attrs, if the options name a logger enabled for level.
func (o *Options) logAt(level slog.Level, msg string, attrs ...slog.Attr) {
	l := o.log()
	if l == nil || !l.Enabled(context.Background(), level) {
		return
	}
	l.LogAttrs(context.Background(), level, msg, attrs...)
}

// logfHandler adapts the deprecated Options.Logf: each record becomes one line, its
// message followed by key=value attributes.
type logfHandler struct {
	logf  func(format string, args ...any)
	attrs []slog.Attr
}

func (h *logfHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logfHandler) Handle(_ context.Context, r slog.Record) error {
	// The attribute values go as arguments, so a Logf that looks at them (errors.Is on
	// an error) still can.
	format := strings.ReplaceAll(r.Message, "%", "%%")
	var args []any
	add := func(a slog.Attr) bool {
		format += " " + a.Key + "=%v"
		args = append(args, a.Value.Any())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.logf(format, args...)
	return nil
}

func (h *logfHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logfHandler{logf: h.logf, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], attrs...)}
}

func (h *logfHandler) WithGroup(string) slog.Handler { return h } // groups are flattened

// minLevel returns the lowest of the usual levels l is enabled for (Error+4 if none), so
// a child manager logs only what its parent keeps.
func minLevel(l *slog.Logger) slog.Level {
	for _, lv := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if l.Enabled(context.Background(), lv) {
			return lv
		}
	}
	return slog.LevelError + 4
}

// childLogger returns the Logger of a manager child whose parent has one: JSON records on
// w, one a line, at level and above. slog's JSONHandler serializes its writes.
func childLogger(w io.Writer, level slog.Level) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: markDuration})
	return slog.New(h).With(slog.Int("manager_pid", os.Getpid()))
}

// logPipeQueue is how many records a manager child keeps for a parent that falls behind.
const logPipeQueue = 1024

// logPipe is a manager child's end of the log pipe. Records are queued and written by a
// goroutine of their own; when the queue is full they are dropped, counted, and the count
// is written before the next record that goes out. A parent whose handler stops (a full
// disk, or a handler that calls this very manager) thus never stalls the manager: writing
// straight to the pipe, every call that logs (a slow call, a session's end) would wait
// once the pipe's 64 KiB were full, and an inline method on the session's reader with it.
type logPipe struct {
	w       io.Writer
	lines   chan []byte
	dropped atomic.Int64
}

func newLogPipe(w io.Writer) *logPipe {
	p := &logPipe{w: w, lines: make(chan []byte, logPipeQueue)}
	go p.run()
	return p
}

// Write queues one record (slog's JSONHandler writes each record whole, once).
func (p *logPipe) Write(b []byte) (int, error) {
	select {
	case p.lines <- bytes.Clone(b):
	default:
		p.dropped.Add(1)
	}
	return len(b), nil
}

func (p *logPipe) run() {
	notices := slog.New(slog.NewJSONHandler(p.w, nil)).With(slog.Int("manager_pid", os.Getpid()))
	for line := range p.lines {
		if n := p.dropped.Swap(0); n > 0 {
			notices.Warn("mgr: the manager dropped log records: the parent's handler fell behind", slog.Int64("dropped", n))
		}
		if _, err := p.w.Write(line); err != nil {
			// The parent is gone; Write goes on dropping once the queue is full.
			return
		}
	}
}

// maxLogLine bounds one record a manager child writes, as the parent reads it.
const maxLogLine = 1 << 20

// durationKey marks a time.Duration on the pipe from a manager child: JSON has no
// duration, and a bare number of nanoseconds would reach the parent's handler as an
// int64 (duration=48662 beside the client side's duration=48.662µs).
const durationKey = "$duration_ns"

// markDuration is the child's ReplaceAttr: a Duration travels as {"$duration_ns": n},
// which decodeRecord turns back into a Duration.
func markDuration(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.AnyValue(map[string]int64{durationKey: int64(a.Value.Duration())})
	}
	return a
}

// forwardLog hands the records a manager child writes on r (see childLogger) to l, until
// the child exits and r reaches EOF; then it closes r. A line that is not a record (it
// cannot happen unless something else writes on the pipe) is logged as its text; a
// record longer than maxLogLine is reported cut (its start and length), and forwarding
// goes on after it.
func forwardLog(r io.ReadCloser, l *slog.Logger) {
	defer r.Close()
	br := bufio.NewReaderSize(r, 64<<10)
	h := l.Handler()
	for {
		line, n, err := readLogLine(br)
		if n > 0 {
			rec, ok := decodeRecord(line)
			switch {
			case n > len(line):
				start := line[:min(len(line), 4<<10)]
				rec = slog.NewRecord(time.Now(), slog.LevelWarn, "mgr: a child manager's log record was cut (longer than 1 MiB)", 0)
				rec.AddAttrs(slog.Int("bytes", n), slog.String("start", string(start)))
			case !ok:
				rec = slog.NewRecord(time.Now(), slog.LevelInfo, string(line), 0)
			}
			if h.Enabled(context.Background(), rec.Level) {
				_ = h.Handle(context.Background(), rec)
			}
		}
		if err != nil {
			return
		}
	}
}

// readLogLine reads one line without its newline, keeping its first maxLogLine bytes;
// n is the line's whole length.
func readLogLine(br *bufio.Reader) (line []byte, n int, err error) {
	for {
		frag, err := br.ReadSlice('\n')
		frag = bytes.TrimSuffix(frag, []byte("\n"))
		n += len(frag)
		if keep := maxLogLine - len(line); keep > 0 {
			line = append(line, frag[:min(keep, len(frag))]...)
		}
		if err != bufio.ErrBufferFull {
			return line, n, err
		}
	}
}

// decodeRecord turns one line of slog's JSONHandler back into a record: time, level and
// message, and the other keys as attributes in their order (numbers as int64 when whole).
func decodeRecord(line []byte) (slog.Record, bool) {
	dec := json.NewDecoder(strings.NewReader(string(line)))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return slog.Record{}, false
	}
	var (
		when  time.Time
		level slog.Level
		msg   string
		attrs []slog.Attr
	)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return slog.Record{}, false
		}
		key, _ := t.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return slog.Record{}, false
		}
		switch key {
		case slog.TimeKey:
			s, _ := v.(string)
			when, _ = time.Parse(time.RFC3339Nano, s)
		case slog.LevelKey:
			s, _ := v.(string)
			_ = level.UnmarshalText([]byte(s))
		case slog.MessageKey:
			msg, _ = v.(string)
		default:
			attrs = append(attrs, jsonAttr(key, v))
		}
	}
	if when.IsZero() {
		when = time.Now()
	}
	rec := slog.NewRecord(when, level, msg, 0)
	rec.AddAttrs(attrs...)
	return rec, true
}

func jsonAttr(key string, v any) slog.Attr {
	switch v := v.(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return slog.Int64(key, n)
		}
		f, _ := v.Float64()
		return slog.Float64(key, f)
	case map[string]any:
		if n, ok := v[durationKey].(json.Number); ok && len(v) == 1 {
			if ns, err := n.Int64(); err == nil {
				return slog.Duration(key, time.Duration(ns))
			}
		}
		var as []any
		for k, x := range v {
			as = append(as, jsonAttr(k, x))
		}
		return slog.Group(key, as...)
	}
	return slog.Any(key, v)
}
