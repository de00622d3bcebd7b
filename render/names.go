package render

import (
	"crypto/sha1"
	"fmt"
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
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// uidNamespace seeds RevisionUID. It is arbitrary but fixed: changing it
// would change the selector of every rendered revision.
var uidNamespace = [16]byte{0x6d, 0x5c, 0x3a, 0x90, 0x1e, 0x7b, 0x5a, 0x4f, 0x9d, 0x21, 0x0c, 0x47, 0xb8, 0x2e, 0x61, 0x33}
