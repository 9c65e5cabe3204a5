//go:build linux

package shm

import (
	"errors"
	"os"
	"testing"
)

// TestOpenRefusesWhatIsNotLocal: a manager on another machine, in another PID namespace,
// or a descriptor that is not the block's — each fails clearly, never maps.
func TestOpenRefusesWhatIsNotLocal(t *testing.T) {
	mem, err := newMemfd(4096)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.close()
	d := Desc{Size: mem.size, PID: os.Getpid(), FD: mem.fd, Dev: mem.dev, Ino: mem.ino, BootID: bootID()}
	if b, err := mapDesc(d); err != nil {
		t.Fatalf("the real descriptor: %v", err)
	} else {
		unmap(b)
	}
	other := d
	other.BootID, other.Host = "00000000-0000-0000-0000-000000000000", "elsewhere"
	wrongInode := d
	wrongInode.Ino++
	gonePID := d
	gonePID.PID = 1 << 30
	for name, d := range map[string]Desc{"another machine": other, "another inode": wrongInode, "no such pid": gonePID} {
		if _, err := mapDesc(d); !errors.Is(err, ErrNotLocal) {
			t.Errorf("%s: %v, want ErrNotLocal", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// A descriptor of this process that is not a memfd is refused by the inode check.
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	notMemfd := d
	notMemfd.FD = int(f.Fd())
	if _, err := mapDesc(notMemfd); !errors.Is(err, ErrNotLocal) {
		t.Errorf("a descriptor that is not the block's: %v, want ErrNotLocal", err)
	}
}
