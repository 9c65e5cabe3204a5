package mgr

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Token is a reference handed from one process to another: the receiver attaches to it
// with Client.Attach (or the generated AttachT) and gets its own reference. The manager
// keeps the object alive for the token until it is attached or expires, so the sender
// may release its proxy right after making the token. A token attaches once.
type Token struct {
	// ObjectID is the object's ID in its manager.
	ObjectID uint64
	// TypeID is the object's registered type.
	TypeID string
	// Secret names the pending hand-over in the manager.
	Secret [16]byte
	// Epoch is the run of the manager that made it: a restarted manager refuses it with
	// ErrManagerRestarted rather than as unknown. 0: not known.
	Epoch uint64
}

// String returns the token's text form, "mgrtok2:<epoch hex>:<id>:<secret>:<typeid>".
func (t Token) String() string {
	return "mgrtok2:" + strconv.FormatUint(t.Epoch, 16) + ":" + strconv.FormatUint(t.ObjectID, 10) + ":" + hex.EncodeToString(t.Secret[:]) + ":" + t.TypeID
}

// ParseToken parses the form String returns, and the older "mgrtok1:<id>:<secret>:<typeid>".
func ParseToken(s string) (Token, error) {
	var epoch uint64
	if rest, ok := strings.CutPrefix(s, "mgrtok2:"); ok {
		e, after, found := strings.Cut(rest, ":")
		v, err := strconv.ParseUint(e, 16, 64)
		if !found || err != nil {
			return Token{}, fmt.Errorf("%w: %q: malformed epoch", ErrBadToken, s)
		}
		epoch, s = v, "mgrtok1:"+after
	}
	parts := strings.SplitN(s, ":", 4)
	if len(parts) != 4 || parts[0] != "mgrtok1" {
		return Token{}, fmt.Errorf("%w: %q is not an mgr token", ErrBadToken, s)
	}
	id, err := strconv.ParseUint(parts[1], 10, 64)
	if err != nil {
		return Token{}, fmt.Errorf("%w: object id: %w", ErrBadToken, err)
	}
	var t Token
	t.ObjectID = id
	t.Epoch = epoch
	t.TypeID = parts[3]
	b, err := hex.DecodeString(parts[2])
	if err != nil || len(b) != len(t.Secret) {
		return Token{}, fmt.Errorf("%w: malformed secret", ErrBadToken)
	}
	copy(t.Secret[:], b)
	return t, nil
}

// MarshalText implements encoding.TextMarshaler.
func (t Token) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *Token) UnmarshalText(b []byte) error {
	p, err := ParseToken(string(b))
	if err != nil {
		return err
	}
	*t = p
	return nil
}
