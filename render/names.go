package render

import (
	"crypto/sha1"
	"encoding/hex"
)

// RevisionUID is the stable identity ebb gives a revision in place of the
// UID Kubernetes would assign to a Revision object: a name-based (version 5
// shaped) UUID of namespace and revision name, so every render of the same
// revision selects the same pods.
func RevisionUID(namespace, revision string) string {
	return nameUID(namespace + "/" + revision)
}

// DomainMappingUID is the stable identity ebb gives a DomainMapping in
// place of its UID, made as RevisionUID's from a key no revision can have
// (names hold no '/').
func DomainMappingUID(namespace, name string) string {
	return nameUID(namespace + "/DomainMapping/" + name)
}

// nameUID is a name-based (version 5 shaped) UUID of key.
func nameUID(key string) string {
	h := sha1.New()
	h.Write(uidNamespace[:])
	h.Write([]byte(key))
	var sum [sha1.Size]byte
	u := h.Sum(sum[:0])[:16]
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	// 8-4-4-4-12 hex digits.
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	hex.Encode(out[9:13], u[4:6])
	hex.Encode(out[14:18], u[6:8])
	hex.Encode(out[19:23], u[8:10])
	hex.Encode(out[24:36], u[10:16])
	out[8], out[13], out[18], out[23] = '-', '-', '-', '-'
	return string(out[:])
}

// uidNamespace seeds RevisionUID. It is arbitrary but fixed: changing it
// would change the selector of every rendered revision.
var uidNamespace = [16]byte{0x6d, 0x5c, 0x3a, 0x90, 0x1e, 0x7b, 0x5a, 0x4f, 0x9d, 0x21, 0x0c, 0x47, 0xb8, 0x2e, 0x61, 0x33}
