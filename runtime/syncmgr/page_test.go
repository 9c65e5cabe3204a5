package syncmgr_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
	"github.com/mgr-go/mgr/runtime/syncmgr"
)

// lockScene starts a child-process manager with its live page, a Lock held by one
// worker process and waited for by two more, and returns them once both wait.
func lockScene(t *testing.T, ctx context.Context) (m *mgr.Manager, holder *mgr.Process, waiters []*mgr.Process) {
	t.Helper()
	m, err := syncmgr.Start(ctx, mgr.Options{PageAddress: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	c := m.Client()
	l, err := syncmgr.CreateLock(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	acquired, err := syncmgr.CreateEvent(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if holder, err = m.Spawn(ctx, "lock-hold", l, acquired); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Kill() })
	if err := acquired.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		p, err := m.Spawn(ctx, "lock-hold", l, acquired)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Kill() })
		waiters = append(waiters, p)
	}
	objectInfo(t, ctx, c, l.ObjectID(), func(st *mgr.ObjectState) bool { return st != nil && len(st.Waiters) == 2 })
	return m, holder, waiters
}

// pageURL splits a Manager.PageURL into the page's base URL and its token.
func pageURL(t *testing.T, m *mgr.Manager) (base, token string) {
	t.Helper()
	u := m.PageURL()
	base, token, ok := strings.Cut(u, "#token=")
	if !ok || token != mgr.PageToken(m.AuthKey()) {
		t.Fatalf("PageURL %q does not carry the page token", u)
	}
	return base, token
}

// TestPageNeedsTokenAndSurvivesBadRequests: the page's data goes only to a request with
// the token; malformed requests get errors and the manager serves on.
func TestPageNeedsTokenAndSurvivesBadRequests(t *testing.T) {
	ctx := testCtx(t)
	m, holder, _ := lockScene(t, ctx)
	base, token := pageURL(t, m)
	get := func(path, auth string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	pid := fmt.Sprint(holder.PID())
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + token + "x", token, "Basic " + token} {
		code, body := get("state.json", auth)
		if code != http.StatusUnauthorized || strings.Contains(body, pid) || strings.Contains(body, "syncmgr") {
			t.Errorf("state.json with Authorization %q: %d %q; want 401 and nothing about the manager", auth, code, body)
		}
	}
	if code, body := get("", ""); code != http.StatusOK || strings.Contains(body, pid) || strings.Contains(body, m.Address().Addr) {
		t.Errorf("the page without a token: %d, or it tells something:\n%s", code, body)
	}
	code, body := get("state.json", "Bearer "+token)
	var st struct {
		Objects []mgr.ObjectInfo
		Methods []mgr.MethodStats
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("state.json with the token: %d %q", code, body)
	}
	if !strings.Contains(body, `"PID":`+pid) || st.Methods == nil {
		t.Errorf("state.json lacks the holder's pid %s or the call statistics: %s", pid, body)
	}

	// Malformed requests, at the HTTP level and below it.
	for _, path := range []string{"nope", "state.json/../../etc/passwd", "page.js?x=" + strings.Repeat("a", 8000)} {
		get(path, "")
	}
	host := strings.TrimSuffix(strings.TrimPrefix(base, "http://"), "/")
	for _, raw := range []string{"GARBAGE\r\n\r\n", "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: b\r\n", 5000) + "\r\n", "\x00\x01\x02", "POST /state.json HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\nabc"} {
		conn, err := net.DialTimeout("tcp", host, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		conn.Write([]byte(raw))
		conn.(*net.TCPConn).CloseWrite() // all said: the server sees the end, not a slow client
		io.Copy(io.Discard, conn)
		conn.Close()
	}
	if code, _ := get("state.json", "Bearer "+token); code != http.StatusOK {
		t.Errorf("after malformed requests, state.json: %d", code)
	}
	if _, err := m.Client().Info(ctx); err != nil {
		t.Errorf("the manager after malformed page requests: %v", err)
	}

	if _, err := syncmgr.Start(ctx, mgr.Options{PageAddress: "0.0.0.0:0"}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("a page on a non-loopback address: %v, want refused", err)
	}
}

// TestPageInChromium loads the live page in headless Chromium, for a manager where one
// worker process holds a Lock and two wait, and checks that the rendered page names the
// holder's pid and both waiters' pids. It keeps a screenshot (its path is logged; set
// MGR_ARTIFACTS to choose the directory, else it goes under the system's temp dir).
func TestPageInChromium(t *testing.T) {
	chromium := findChromium()
	if chromium == "" {
		t.Skip("Chromium is not installed (apt-get install -y chromium; .ci/run does it): the live page is not tested in a browser")
	}
	ctx := testCtx(t)
	m, holder, waiters := lockScene(t, ctx)
	u := m.PageURL()
	profile := t.TempDir()
	browse := func(extra ...string) ([]byte, error) {
		args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
			"--user-data-dir=" + profile, "--virtual-time-budget=5000", "--window-size=1400,700"}, extra...)
		cmd := exec.CommandContext(ctx, chromium, append(args, u)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return out, fmt.Errorf("%v\n%s", err, &stderr)
		}
		return out, nil
	}
	dom, err := browse("--dump-dom")
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	page := string(dom)
	holderRe := regexp.MustCompile(`class="party holder">session \d+ \(pid ` + fmt.Sprint(holder.PID()) + `\)`)
	if !holderRe.MatchString(page) {
		t.Errorf("the rendered page does not name the holder, pid %d:\n%s", holder.PID(), page)
	}
	for _, w := range waiters {
		re := regexp.MustCompile(`class="party waiter">session \d+ \(pid ` + fmt.Sprint(w.PID()) + `\) acquire`)
		if !re.MatchString(page) {
			t.Errorf("the rendered page does not name the waiter, pid %d:\n%s", w.PID(), page)
		}
	}

	dir := os.Getenv("MGR_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "mgr-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "live-page.png")
	if _, err := browse("--screenshot=" + shot); err != nil {
		t.Fatalf("chromium --screenshot: %v", err)
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
		t.Fatalf("no screenshot at %s: %v", shot, err)
	}
	t.Logf("screenshot of the live page: %s", shot)
}

// findChromium returns the path of a Chromium binary, or "".
func findChromium() string {
	if p := os.Getenv("MGR_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}
