package mgr

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// Connecting a separate program (Python's BaseManager(address, authkey).connect()): the
// program needs the manager's address and authkey. Spawned workers get both through
// their control pipe; other programs get them from the environment or from flags.

// Environment variables read by OptionsFromEnv and ConnectFromEnv.
const (
	// EnvAddress holds the manager's address: "unix:/path", "tcp:host:port", a bare
	// "host:port" or a "/path" (see ParseAddress).
	EnvAddress = "MGR_ADDRESS"
	// EnvAuthKey holds the authkey, hex-encoded.
	EnvAuthKey = "MGR_AUTHKEY"
)

// Env returns the environment entries (MGR_ADDRESS=…, MGR_AUTHKEY=…) with which another
// program can reach m through ConnectFromEnv, e.g. for exec.Cmd.Env. The environment of
// a process is readable by its user (and root), unlike its command line, which anyone
// can read: pass the authkey this way rather than as a flag.
func (m *Manager) Env() []string {
	return []string{EnvAddress + "=" + m.addr.String(), EnvAuthKey + "=" + hex.EncodeToString(m.key)}
}

// OptionsFromEnv returns Options with Address and AuthKey taken from MGR_ADDRESS and
// MGR_AUTHKEY (hex). Both must be set.
func OptionsFromEnv() (Options, error) {
	var opts Options
	addr := os.Getenv(EnvAddress)
	if addr == "" {
		return opts, fmt.Errorf("mgr: %s is not set (the manager's address, e.g. unix:/tmp/mgr.sock or tcp:127.0.0.1:5000)", EnvAddress)
	}
	if err := opts.Address.Set(addr); err != nil {
		return opts, fmt.Errorf("mgr: %s: %w", EnvAddress, err)
	}
	key := os.Getenv(EnvAuthKey)
	if key == "" {
		return opts, fmt.Errorf("mgr: %s is not set (the manager's authkey, hex-encoded)", EnvAuthKey)
	}
	if err := HexKey(&opts.AuthKey).Set(key); err != nil {
		return opts, fmt.Errorf("mgr: %s: %w", EnvAuthKey, err)
	}
	return opts, nil
}

// ConnectFromEnv connects to the manager named by MGR_ADDRESS and MGR_AUTHKEY (see
// OptionsFromEnv).
func ConnectFromEnv(ctx context.Context) (*Client, error) {
	opts, err := OptionsFromEnv()
	if err != nil {
		return nil, err
	}
	return Connect(ctx, opts)
}

// Set parses s with ParseAddress, so that *Address is a flag.Value:
//
//	flag.Var(&opts.Address, "addr", "manager address (unix:/path or tcp:host:port)")
func (a *Address) Set(s string) error {
	p, err := ParseAddress(s)
	if err != nil {
		return err
	}
	*a = p
	return nil
}

// HexKey returns a flag.Value that reads a hex-encoded authkey into *key:
//
//	flag.Var(mgr.HexKey(&opts.AuthKey), "authkey", "manager authkey (hex)")
//
// Prefer MGR_AUTHKEY for secrets: any user can read a process's command line.
func HexKey(key *[]byte) flag.Value {
	return hexKey{key}
}

type hexKey struct{ key *[]byte }

func (h hexKey) String() string {
	if h.key == nil {
		return ""
	}
	return hex.EncodeToString(*h.key)
}

func (h hexKey) Set(s string) error {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("authkey is not hex: %w", err)
	}
	if len(b) == 0 {
		return errors.New("authkey is empty")
	}
	*h.key = b
	return nil
}
