package benchobj

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"

	"github.com/mgr-go/mgr/runtime/mgr"
)

// Ctl is a named object of the benchmark's manager: it lets the harness profile the
// manager process and read its memory.
//
//mgr:expose nocreate concurrent
type Ctl struct {
	mu  sync.Mutex
	cpu *os.File
}

// CtlName is the name the manager registers its Ctl under.
const CtlName = "mgrbench.ctl"

// Initializer is the Options.Initializer that adds the Ctl to a benchmark manager.
const Initializer = "mgrbench"

func init() {
	mgr.RegisterInitializer(Initializer, func(s *mgr.Server) error {
		return s.AddNamed(CtlName, CtlTypeID, &Ctl{})
	})
}

// StartCPUProfile starts writing a CPU profile of the manager process to path.
func (c *Ctl) StartCPUProfile(path string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cpu != nil {
		return fmt.Errorf("a CPU profile is running already")
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	c.cpu = f
	return nil
}

// StopCPUProfile stops the CPU profile and closes its file.
func (c *Ctl) StopCPUProfile() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cpu == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := c.cpu.Close()
	c.cpu = nil
	return err
}

// HeapAlloc runs two garbage collections and returns the bytes of live heap objects.
func (c *Ctl) HeapAlloc() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// RSS returns the manager process's resident set size in bytes (VmRSS), or -1.
func (c *Ctl) RSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return -1
}
