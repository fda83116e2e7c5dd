package archive

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// reprDigestSHA256 returns the sha-256 digest announced by Repr-Digest
// header values (RFC 9530: a structured-field dictionary such as
// `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-512=:…:`),
// and whether there was one. Malformed members are ignored, as the RFC
// allows a recipient to ignore digests it cannot use.
func reprDigestSHA256(values []string) ([]byte, bool) {
	for _, v := range values {
		for member := range strings.SplitSeq(v, ",") {
			name, value, ok := strings.Cut(strings.TrimSpace(member), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "sha-256") {
				continue
			}
			value = strings.TrimSpace(value)
			if len(value) < 2 || value[0] != ':' || value[len(value)-1] != ':' {
				continue
			}
			sum, err := base64.StdEncoding.DecodeString(value[1 : len(value)-1])
			if err != nil || len(sum) != sha256.Size {
				continue
			}
			return sum, true
		}
	}
	return nil, false
}
