package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

func TestReprDigestSHA256(t *testing.T) {
	want := sha256.Sum256([]byte("x"))
	b64 := base64.StdEncoding.EncodeToString(want[:])
	for _, tc := range []struct {
		values []string
		ok     bool
	}{
		{[]string{"sha-256=:" + b64 + ":"}, true},
		{[]string{"sha-512=:AAAA:", "SHA-256 = :" + b64 + ":"}, true},
		{[]string{"sha-512=:AAAA:, sha-256=:" + b64 + ":"}, true},
		{[]string{"sha-256=" + b64}, false},    // not a byte sequence
		{[]string{"sha-256=:AAAA:"}, false},    // wrong length
		{[]string{"sha-256=:!!!!:"}, false},    // not base64
		{[]string{"md5=:" + b64 + ":"}, false}, // another algorithm
		{nil, false},
	} {
		got, ok := reprDigestSHA256(tc.values)
		if ok != tc.ok || ok && !bytes.Equal(got, want[:]) {
			t.Errorf("reprDigestSHA256(%q) = %x, %v; want ok %v", tc.values, got, ok, tc.ok)
		}
	}
}

func FuzzReprDigestSHA256(f *testing.F) {
	f.Add("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:")
	f.Add("sha-512=:AAAA:, sha-256=::")
	f.Fuzz(func(t *testing.T, v string) {
		if sum, ok := reprDigestSHA256([]string{v}); ok && len(sum) != sha256.Size {
			t.Fatalf("digest of %d bytes from %q", len(sum), v)
		}
	})
}
