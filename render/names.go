package render

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
)

// maxNameLength is the longest name a Kubernetes object rendered here may
// carry: a DNS-1035 label.
const maxNameLength = 63

// ChildName is the name of an object derived from parent with suffix, kept
// to 63 characters by Knative's rule, so ebb's names equal Knative's: when
// parent+suffix is too long, the parent is cut to leave room for the 32 hex
// digits of md5(parent) and the suffix. A suffix too long even for that
// gives the cut parent, md5(parent+suffix) and as much of the suffix as
// fits, without a trailing dash.
func ChildName(parent, suffix string) string {
	if len(parent)+len(suffix) <= maxNameLength {
		return parent + suffix
	}
	const room = maxNameLength - md5.Size*2 // characters left beside the hash
	if room-len(suffix) > 0 {
		sum := md5.Sum([]byte(parent))
		return parent[:room-len(suffix)] + hex.EncodeToString(sum[:]) + suffix
	}
	sum := md5.Sum([]byte(parent + suffix))
	n := parent[:min(room, len(parent))] + hex.EncodeToString(sum[:])
	if d := maxNameLength - len(n); d > 0 {
		n += suffix[:d]
	}
	return strings.TrimRight(n, "-")
}

// DeploymentName is the name of a revision's Deployment.
func DeploymentName(revision string) string { return ChildName(revision, "-deployment") }

// PrivateServiceName is the name of a revision's private k8s Service.
func PrivateServiceName(revision string) string { return ChildName(revision, "-private") }

// PublicServiceName is the name of a revision's public, selector-less k8s
// Service; its EndpointSlices are written at run time.
func PublicServiceName(revision string) string { return ChildName(revision, "") }

// RevisionUID is the stable identity ebb gives a revision in place of the
// UID Kubernetes would assign to a Revision object: a name-based (version 5
// shaped) UUID of namespace and revision name, so every render of the same
// revision selects the same pods.
func RevisionUID(namespace, revision string) string {
	h := sha1.New()
	h.Write(uidNamespace[:])
	h.Write([]byte(namespace))
	h.Write([]byte{'/'})
	h.Write([]byte(revision))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// uidNamespace seeds RevisionUID. It is arbitrary but fixed: changing it
// would change the selector of every rendered revision.
var uidNamespace = [16]byte{0x6d, 0x5c, 0x3a, 0x90, 0x1e, 0x7b, 0x5a, 0x4f, 0x9d, 0x21, 0x0c, 0x47, 0xb8, 0x2e, 0x61, 0x33}
