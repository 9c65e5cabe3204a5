package mgr

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// PageToken returns the access token of a manager's live page (Server.Handler): an
// HMAC-SHA256 of a fixed label under the authkey, in hex. Whoever holds the authkey can
// compute it (mgrctl token prints it); the page tells nothing to anyone else. It is
// not the authkey and cannot be turned back into it, so showing it in a browser's
// address bar or cookie jar does not give away the right to connect as a client.
func PageToken(authKey []byte) string {
	m := hmac.New(sha256.New, authKey)
	m.Write([]byte("mgr live page v1"))
	return hex.EncodeToString(m.Sum(nil)[:16])
}
