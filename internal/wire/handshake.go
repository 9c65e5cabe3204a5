package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// ProtocolVersion is the version of the mgr protocol this build speaks. A peer that
// speaks another one is refused in the handshake (ErrVersion), before anything else.
// Version 4 added call metadata (KindCallMeta); version 5 pipelined calls (KindCallPipe,
// KindCallPipeMeta, CtlCreatePipe) and releases of their results (CtlReleaseN's second
// list); version 6 widened Resume's list of call IDs to every call whose reply the client
// has not taken (given up on and refused too, not only those still waiting), which a
// manager adopting a session from another uses to tell delivered from undelivered — a
// version-5 client would under-report it.
const ProtocolVersion = 6

// NonceSize is the size of each side's random challenge.
const NonceSize = 32

// MaxHandshakeFrame bounds every handshake frame: nothing a peer sends before it has
// authenticated can make us allocate more.
const MaxHandshakeFrame = 256

// maxCodecName bounds the codec name in the hello.
const maxCodecName = 64

var magic = []byte("MGR\x00")

// ErrAuth is wrapped by the error of a handshake that failed because a side does not
// hold the authkey.
var ErrAuth = errors.New("mgr: authentication failed")

// ErrVersion is wrapped by the error of a handshake with a peer that speaks another
// protocol version or codec.
var ErrVersion = errors.New("mgr: incompatible peer")

// ErrHandshake is wrapped by the error of a handshake that broke off or was malformed.
var ErrHandshake = errors.New("mgr: handshake failed")

// Handshake statuses.
const (
	statusOK       byte = 0
	statusVersion  byte = 1
	statusAuthFail byte = 2
)

// The handshake, in frames:
//
//	C→S hello:     magic(4) version(2) len(1) codec nonceC(32)
//	S→C challenge: status(1)=OK nonceS(32)         | status=Version message
//	C→S proof:     HMAC(key, "mgr client" ‖ nonceS ‖ nonceC ‖ codec)
//	S→C verdict:   status=OK HMAC(key, "mgr server" ‖ nonceC ‖ nonceS ‖ codec) | status=AuthFail
//
// Both MACs cover both nonces, so neither transcript can be replayed (the other side's
// nonce is fresh) or reflected (the labels differ). The server checks the client first
// and says so when it fails, so a wrong key is reported on both sides.

func mac(key []byte, label string, a, b []byte, codec string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	m.Write(a)
	m.Write(b)
	m.Write([]byte(codec))
	return m.Sum(nil)
}

func nonce() ([]byte, error) {
	b := make([]byte, NonceSize)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, nil
}

func readSmall(r *Reader) ([]byte, error) {
	b, err := r.Next()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: peer closed the connection", ErrHandshake)
		}
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	return b, nil
}

// ClientHandshake runs the client side over rw (with r reading from it). It returns nil
// once both sides proved they hold key.
func ClientHandshake(rw io.Writer, r *Reader, key []byte, codec string) error {
	if len(codec) > maxCodecName {
		return fmt.Errorf("%w: codec name longer than %d bytes", ErrHandshake, maxCodecName)
	}
	r.SetMax(MaxHandshakeFrame)
	nc, err := nonce()
	if err != nil {
		return err
	}
	hello := append([]byte{}, magic...)
	hello = append(hello, byte(ProtocolVersion>>8), byte(ProtocolVersion), byte(len(codec)))
	hello = append(hello, codec...)
	hello = append(hello, nc...)
	if err := WriteFrame(rw, hello); err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	ch, err := readSmall(r)
	if err != nil {
		return err
	}
	switch {
	case len(ch) >= 1 && ch[0] == statusVersion:
		return fmt.Errorf("%w: %s", ErrVersion, ch[1:])
	case len(ch) != 1+NonceSize || ch[0] != statusOK:
		return fmt.Errorf("%w: malformed challenge (is this an mgr manager?)", ErrHandshake)
	}
	ns := append([]byte(nil), ch[1:]...) // the next read reuses the buffer
	if err := WriteFrame(rw, mac(key, "mgr client", ns, nc, codec)); err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	v, err := readSmall(r)
	if err != nil {
		return err
	}
	switch {
	case len(v) == 1 && v[0] == statusAuthFail:
		return fmt.Errorf("%w: the manager rejected our authkey (wrong authkey?)", ErrAuth)
	case len(v) != 1+sha256.Size || v[0] != statusOK:
		return fmt.Errorf("%w: malformed verdict", ErrHandshake)
	}
	if !hmac.Equal(v[1:], mac(key, "mgr server", nc, ns, codec)) {
		return fmt.Errorf("%w: the manager could not prove it holds the authkey (wrong authkey, or not our manager)", ErrAuth)
	}
	return nil
}

// ServerHandshake runs the manager side. Nothing the client sends is interpreted beyond
// the fixed-size hello until its proof has been checked.
func ServerHandshake(w io.Writer, r *Reader, key []byte, codec string) error {
	r.SetMax(MaxHandshakeFrame)
	hello, err := readSmall(r)
	if err != nil {
		return err
	}
	if len(hello) < len(magic)+3 || !bytes.Equal(hello[:len(magic)], magic) {
		return fmt.Errorf("%w: not an mgr client (bad magic)", ErrHandshake)
	}
	ver := int(hello[4])<<8 | int(hello[5])
	cl := int(hello[6])
	if len(hello) != len(magic)+3+cl+NonceSize {
		return fmt.Errorf("%w: malformed hello", ErrHandshake)
	}
	peerCodec := string(hello[7 : 7+cl])
	nc := hello[7+cl:]
	if ver != ProtocolVersion || peerCodec != codec {
		msg := fmt.Sprintf("manager speaks mgr protocol %d with codec %q, client speaks protocol %d with codec %q",
			ProtocolVersion, codec, ver, peerCodec)
		_ = WriteFrame(w, append([]byte{statusVersion}, msg...))
		return fmt.Errorf("%w: %s", ErrVersion, msg)
	}
	nc = append([]byte(nil), nc...)
	ns, err := nonce()
	if err != nil {
		return err
	}
	if err := WriteFrame(w, append([]byte{statusOK}, ns...)); err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	proof, err := readSmall(r)
	if err != nil {
		return err
	}
	if !hmac.Equal(proof, mac(key, "mgr client", ns, nc, codec)) {
		_ = WriteFrame(w, []byte{statusAuthFail})
		return fmt.Errorf("%w: the client could not prove it holds the authkey (wrong authkey?)", ErrAuth)
	}
	return WriteFrame(w, append([]byte{statusOK}, mac(key, "mgr server", nc, ns, codec)...))
}
