package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
)

// The handshake's fixed messages, byte for byte as CPython's connection.py has them.
var (
	challengePrefix = []byte("#CHALLENGE#")
	welcome         = []byte("#WELCOME#")
	failure         = []byte("#FAILURE#")
)

// Nonce lengths: 3.12 and later send 40 random bytes after a "{digest}" prefix; 3.11 and
// earlier send 20 and nothing else. A challenge of exactly 20 bytes is how a peer knows
// the other side is legacy and answers with a raw HMAC-MD5.
const (
	modernNonce = 40
	legacyNonce = 20
	md5Len      = 16
)

// ErrAuth is the error of a failed handshake (wrapped with what failed): the peer's
// digest was wrong, or it rejected ours, or it spoke something else.
var ErrAuth = errors.New("pyproto/wire: authentication failed")

// Form chooses the challenge a side delivers.
type Form int

const (
	// Modern is the challenge of Python 3.12 and later: "{sha256}" and 40 random bytes.
	// Python 3.11 and earlier answer it too (a raw HMAC-MD5 over the whole message,
	// which the modern side accepts, as CPython does).
	Modern Form = iota
	// Legacy is the challenge of Python 3.11 and earlier: 20 random bytes, answered with
	// a raw HMAC-MD5.
	Legacy
)

// digests are those CPython 3.12's _ALLOWED_DIGESTS lists, accepted in answers.
var digests = map[string]func() hash.Hash{
	"md5":      md5.New,
	"sha256":   sha256.New,
	"sha384":   sha512.New384,
	"sha3_256": func() hash.Hash { return sha3.New256() },
	"sha3_384": func() hash.Hash { return sha3.New384() },
}

// maxDigestName is CPython's _MAX_DIGEST_LEN: the "}" must come within 1..9.
const maxDigestName = 8

func mac(newHash func() hash.Hash, key, msg []byte) []byte {
	m := hmac.New(newHash, key)
	m.Write(msg)
	return m.Sum(nil)
}

// ServerHandshake authenticates a connection as a CPython manager server does: it
// delivers a challenge (form), then answers the client's. It returns nil only when both
// sides proved they hold key.
func ServerHandshake(c *Conn, key []byte, form Form) error {
	if err := DeliverChallenge(c, key, form); err != nil {
		return err
	}
	return AnswerChallenge(c, key)
}

// ClientHandshake authenticates a connection as multiprocessing.connection.Client does:
// it answers the server's challenge, then delivers its own (form).
func ClientHandshake(c *Conn, key []byte, form Form) error {
	if err := AnswerChallenge(c, key); err != nil {
		return err
	}
	return DeliverChallenge(c, key, form)
}

// DeliverChallenge sends a challenge, checks the answer in constant time and says
// #WELCOME# or #FAILURE#.
func DeliverChallenge(c *Conn, key []byte, form Form) error {
	var msg []byte
	switch form {
	case Legacy:
		msg = make([]byte, legacyNonce)
		rand.Read(msg)
	default:
		msg = append([]byte("{sha256}"), make([]byte, modernNonce)...)
		rand.Read(msg[len("{sha256}"):])
	}
	if err := c.WriteFrame(append(append([]byte{}, challengePrefix...), msg...)); err != nil {
		return err
	}
	resp, err := c.readFrame(MaxHandshakeFrame)
	if err != nil {
		return handshakeErr(err)
	}
	if verr := verify(key, msg, resp); verr != nil {
		c.WriteFrame(failure)
		return verr
	}
	return c.WriteFrame(welcome)
}

// verify checks an answer to msg as CPython 3.12's _verify_challenge does: a 16- or
// 20-byte answer is a raw HMAC-MD5 (what a legacy peer sends, whatever the challenge
// looked like); anything else must be "{name}" with an allowed digest and its MAC. The
// MAC always covers the whole challenge message, prefix included.
func verify(key, msg, resp []byte) error {
	name, sum := "md5", resp
	if len(resp) != md5Len && len(resp) != legacyNonce {
		end := -1
		if len(resp) > 0 && resp[0] == '{' {
			if i := bytes.IndexByte(resp[1:min(len(resp), maxDigestName+2)], '}'); i >= 0 {
				end = i + 1
			}
		}
		if end < 0 {
			return fmt.Errorf("%w: the answer has no digest prefix (%d bytes)", ErrAuth, len(resp))
		}
		name, sum = string(resp[1:end]), resp[end+1:]
	}
	newHash, ok := digests[name]
	if !ok {
		return fmt.Errorf("%w: unsupported digest %q", ErrAuth, name)
	}
	want := mac(newHash, key, msg)
	if len(want) != len(sum) || subtle.ConstantTimeCompare(want, sum) != 1 {
		return fmt.Errorf("%w: digest received was wrong", ErrAuth)
	}
	return nil
}

// AnswerChallenge reads a challenge, answers it as CPython 3.12's _create_response does
// (a raw HMAC-MD5 to a 20-byte legacy challenge, "{name}" and the MAC otherwise) and
// expects #WELCOME#.
func AnswerChallenge(c *Conn, key []byte) error {
	frame, err := c.readFrame(MaxHandshakeFrame)
	if err != nil {
		return handshakeErr(err)
	}
	if !bytes.HasPrefix(frame, challengePrefix) {
		return fmt.Errorf("%w: protocol error, expected a challenge", ErrAuth)
	}
	msg := frame[len(challengePrefix):]
	if len(msg) < legacyNonce {
		return fmt.Errorf("%w: challenge too short: %d bytes", ErrAuth, len(msg))
	}
	var resp []byte
	if len(msg) == legacyNonce {
		resp = mac(md5.New, key, msg)
	} else {
		end := -1
		if msg[0] == '{' {
			if i := bytes.IndexByte(msg[1:min(len(msg), maxDigestName+2)], '}'); i >= 0 {
				end = i + 1
			}
		}
		if end < 0 {
			return fmt.Errorf("%w: the challenge has no digest prefix", ErrAuth)
		}
		name := string(msg[1:end])
		newHash, ok := digests[name]
		if !ok {
			return fmt.Errorf("%w: unsupported digest %q", ErrAuth, name)
		}
		resp = append([]byte("{"+name+"}"), mac(newHash, key, msg)...)
	}
	if err := c.WriteFrame(resp); err != nil {
		return err
	}
	reply, err := c.readFrame(MaxHandshakeFrame)
	if err != nil {
		return handshakeErr(err)
	}
	if !bytes.Equal(reply, welcome) {
		return fmt.Errorf("%w: digest sent was rejected", ErrAuth)
	}
	return nil
}

// handshakeErr says that a frame too large during the handshake is a protocol error.
func handshakeErr(err error) error {
	if errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrBadLength) {
		return fmt.Errorf("%w: %v", ErrAuth, err)
	}
	return err
}
