package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// writeInfo prints info as tables for people: sessions, then objects with their state,
// and under each object who holds it and who waits, with pids and for how long.
func writeInfo(w io.Writer, info mgr.Info, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "SESSION\tPID\tPROGRAM\tREMOTE\tREFS\n")
	for _, s := range info.Sessions {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%d\n", s.ID, s.PID, s.Program, s.Remote, s.Refs)
	}
	tw.Flush()
	fmt.Fprintln(w)
	pids := map[uint64]int{}
	for _, s := range info.Sessions {
		pids[s.ID] = s.PID
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "OBJECT\tTYPE\tNAME\tREFS\tREFERENCED BY\tSTATE\n")
	for _, o := range info.Objects {
		var by []string
		for _, h := range o.Holders {
			by = append(by, fmt.Sprintf("s%d×%d", h.Session, h.Refs))
		}
		if o.Tokens > 0 {
			by = append(by, fmt.Sprintf("%d token(s)", o.Tokens))
		}
		fmt.Fprintf(tw, "#%d\t%s\t%s\t%d\t%s\t%s\n", o.ID, o.TypeID, o.Name, o.Refs, strings.Join(by, " "), fields(o.State))
		if o.State == nil {
			continue
		}
		for _, p := range o.State.Holders {
			fmt.Fprintf(tw, "\t\t\t\t\t↳ held by %s\n", party(p, now))
		}
		for _, p := range o.State.Waiters {
			fmt.Fprintf(tw, "\t\t\t\t\t↳ waiting: %s\n", party(p, now))
		}
		if o.State.WaitersCut > 0 {
			fmt.Fprintf(tw, "\t\t\t\t\t↳ and %d more waiting\n", o.State.WaitersCut)
		}
	}
	tw.Flush()
}

// fields renders a state's figures as name=value pairs.
func fields(st *mgr.ObjectState) string {
	if st == nil {
		return ""
	}
	var parts []string
	for _, f := range st.Fields {
		parts = append(parts, fmt.Sprintf("%s=%v", f.Name, f.Value))
	}
	return strings.Join(parts, " ")
}

// party renders a holder or waiter: "session 3 (pid 1234) acquire for 2.1s".
func party(p mgr.StateParty, now time.Time) string {
	s := fmt.Sprintf("session %d", p.Session)
	if p.PID != 0 {
		s += fmt.Sprintf(" (pid %d)", p.PID)
	}
	if p.Op != "" && p.Op != "holds" {
		s += " " + p.Op
	}
	if p.Count > 1 {
		s += fmt.Sprintf(" ×%d", p.Count)
	}
	if !p.Since.IsZero() {
		s += fmt.Sprintf(" for %s (since %s)", now.Sub(p.Since).Round(10*time.Millisecond), p.Since.Format("15:04:05.000"))
	}
	return s
}
