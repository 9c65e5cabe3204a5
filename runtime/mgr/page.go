package mgr

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mgr-go/mgr/templates"
)

// The live page: an http.Handler showing the manager's sessions, objects, who holds
// each lock and who waits, queue depths, and per-method call rates and latencies,
// refreshed in place every second by a small script (templates/page).
//
// Access: the page's HTML and script are static and say nothing about the manager; the
// data (state.json) is served only to a request carrying the page token,
// PageToken(authkey), as "Authorization: Bearer TOKEN". Open the page as
// http://ADDRESS/#token=TOKEN (mgrctl token prints TOKEN): the fragment never leaves the
// browser, and the script sends it as the bearer token. Without it every data request
// gets 401 and nothing else. Options.PageAddress serves the page on a loopback address
// only; Server.Handler mounts it anywhere else, at the embedder's risk.

// observer holds what the page shows beyond Info: per-method call counts and latencies,
// and the page's own HTTP server.
type observer struct {
	methods sync.Map // methodKey → *methodStats
	srv     *http.Server
	addr    net.Addr
}

type methodKey struct{ typeID, method string }

type methodStats struct {
	calls, errors, nanos, running atomic.Int64
}

// MethodStats is one method's call figures since the manager started.
type MethodStats struct {
	TypeID, Method string
	Calls, Errors  int64
	// Running counts the calls in progress (a Lock.Acquire waiting, say).
	Running int64
	// Nanos sums the calls' durations in the manager; rates and mean latencies come from
	// the differences between two readings.
	Nanos int64
}

// statsInterceptor counts every call and its duration by type and method.
func (o *observer) statsInterceptor() Interceptor {
	return func(ctx context.Context, info *CallInfo, invoke func(context.Context) error) error {
		k := methodKey{info.TypeID, info.Method}
		v, ok := o.methods.Load(k)
		if !ok {
			v, _ = o.methods.LoadOrStore(k, new(methodStats))
		}
		st := v.(*methodStats)
		st.running.Add(1)
		start := time.Now()
		err := invoke(ctx)
		d := time.Since(start)
		st.running.Add(-1)
		st.calls.Add(1)
		st.nanos.Add(int64(d))
		if err != nil {
			st.errors.Add(1)
		}
		return err
	}
}

// withObserver installs the call statistics when the options ask for them.
func withObserver(o Options) (Options, *observer) {
	if o.PageAddress == "" && !o.CallStats {
		return o, nil
	}
	obs := &observer{}
	o.ServerInterceptors = append([]Interceptor{obs.statsInterceptor()}, o.ServerInterceptors...)
	return o, obs
}

// MethodStats returns the call figures of every method called so far, by type and
// method name; nil when call statistics are off (Options.CallStats, PageAddress).
func (s *Server) MethodStats() []MethodStats {
	if s.obs == nil {
		return nil
	}
	out := []MethodStats{}
	s.obs.methods.Range(func(k, v any) bool {
		key, st := k.(methodKey), v.(*methodStats)
		out = append(out, MethodStats{TypeID: key.typeID, Method: key.method, Calls: st.calls.Load(), Errors: st.errors.Load(), Nanos: st.nanos.Load(), Running: st.running.Load()})
		return true
	})
	slices.SortFunc(out, func(a, b MethodStats) int {
		if c := strings.Compare(a.TypeID, b.TypeID); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return out
}

// pageState is what state.json holds.
type pageState struct {
	Time        time.Time
	Address     string
	Sessions    []SessionInfo
	Objects     []ObjectInfo
	MoreObjects bool          // more objects than the page lists
	Methods     []MethodStats // null: call statistics are off
}

// maxPageObjects bounds the objects one refresh lists.
const maxPageObjects = 1000

// Handler returns the manager's live page (see PageToken for access). It never panics
// the manager: a failure in a request is that request's 500.
func (s *Server) Handler() http.Handler {
	tmpl := template.Must(template.ParseFS(templates.FS, "page/index.html.tmpl"))
	static, _ := fs.Sub(templates.FS, "page")
	token := []byte(PageToken(s.opts.AuthKey))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		pageHeaders(w)
		if err := tmpl.Execute(w, struct{ RefreshMillis int }{1000}); err != nil {
			s.opts.logAt(slog.LevelWarn, "mgr: live page", slog.Any(LogErr, err))
		}
	})
	for _, name := range []string{"page.js", "page.css"} {
		mux.HandleFunc("GET /"+name, func(w http.ResponseWriter, r *http.Request) {
			pageHeaders(w)
			http.ServeFileFS(w, r, static, name)
		})
	}
	mux.HandleFunc("GET /state.json", func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), token) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mgr"`)
			http.Error(w, "mgr: the live page needs its token: open it as /#token=TOKEN (mgrctl token prints TOKEN)", http.StatusUnauthorized)
			return
		}
		info := s.Info()
		st := pageState{Time: time.Now(), Address: s.address(), Sessions: info.Sessions, Objects: info.Objects, Methods: s.MethodStats()}
		// The page reads both lists' lengths: an empty one is [], never null (a manager
		// whose only clients are CPython's has no sessions).
		if st.Sessions == nil {
			st.Sessions = []SessionInfo{}
		}
		if st.Objects == nil {
			st.Objects = []ObjectInfo{}
		}
		if len(st.Objects) > maxPageObjects {
			st.Objects, st.MoreObjects = st.Objects[:maxPageObjects], true
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(&st); err != nil {
			s.opts.logAt(slog.LevelDebug, "mgr: live page", slog.Any(LogErr, err))
		}
	})
	return recoverHandler(mux, &s.opts)
}

// pageHeaders keeps the page out of caches, frames and other origins' reach.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'")
}

// recoverHandler turns a panic in h into a 500 for that request: net/http would recover
// too, but would log it to the standard logger and drop the connection.
func recoverHandler(h http.Handler, o *Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				o.logAt(slog.LevelError, "mgr: live page request panicked", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
				http.Error(w, "mgr: internal error", http.StatusInternalServerError)
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// address is where the manager listens, for the page's title.
func (s *Server) address() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var as []string
	for ln := range s.listeners {
		as = append(as, ListenerAddress(ln).String())
	}
	slices.Sort(as)
	return strings.Join(as, ", ")
}

// servePage serves the live page on addr, which must be a loopback address, until the
// manager shuts down.
func (s *Server) servePage(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("mgr: Options.PageAddress %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("mgr: Options.PageAddress %q is not a loopback address (127.0.0.1:PORT, [::1]:PORT, localhost:PORT); mount Server.Handler yourself to serve it elsewhere", addr)
	}
	if s.obs == nil {
		return errors.New("mgr: the server was made without Options.PageAddress")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("mgr: live page: %w", err)
	}
	s.obs.addr = ln.Addr()
	s.obs.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(discardOr(s.opts.log()).Handler(), slog.LevelDebug),
	}
	go s.obs.srv.Serve(ln)
	go func() {
		<-s.Done()
		s.obs.srv.Close()
	}()
	s.opts.logAt(slog.LevelInfo, "mgr: live page serving", slog.String("url", "http://"+ln.Addr().String()+"/"))
	return nil
}

func discardOr(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// PageAddr returns the address the live page is served on, or nil.
func (s *Server) PageAddr() net.Addr {
	if s.obs == nil {
		return nil
	}
	return s.obs.addr
}

// childPageAddress is the page address a child-process manager gets: addr, with port 0
// replaced by a free port picked here, so that this process knows the page's URL. (The
// port is free when picked; another program could take it before the child listens, and
// Start then fails saying so.)
func childPageAddress(addr string) (string, error) {
	if addr == "" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port != "0" {
		return addr, nil // the child reports a malformed address
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("mgr: Options.PageAddress %q: %w", addr, err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// PageURL returns the URL of the manager's live page (Options.PageAddress) with its
// token in the fragment, ready for a browser; "" when there is none.
func (m *Manager) PageURL() string {
	addr := m.page
	if m.srv != nil {
		if a := m.srv.PageAddr(); a != nil {
			addr = a.String()
		}
	}
	if addr == "" {
		return ""
	}
	return "http://" + addr + "/#token=" + PageToken(m.key)
}
