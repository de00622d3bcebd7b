package names

import (
	"crypto/md5"
	"encoding/hex"
)

// maxLength is the longest Kubernetes object name ebb makes.
const maxLength = 63

// Child is Knative's kmeta.ChildName: parent+suffix, or when that is
// longer than 63 characters, the parent cut to leave room for the 32 hex
// digits of md5(parent) and the suffix. A suffix too long for that gets
// md5(parent+suffix) after at most 31 characters of the parent, filled up
// with the suffix's start, and no trailing character that is not a
// letter or digit.
func Child(parent, suffix string) string {
	if len(parent)+len(suffix) <= maxLength {
		return parent + suffix
	}
	const room = maxLength - md5.Size*2
	if room-len(suffix) > 0 {
		sum := md5.Sum([]byte(parent))
		return parent[:room-len(suffix)] + hex.EncodeToString(sum[:]) + suffix
	}
	sum := md5.Sum([]byte(parent + suffix))
	n := parent[:min(room, len(parent))] + hex.EncodeToString(sum[:])
	if d := maxLength - len(n); d > 0 {
		n += suffix[:d]
	}
	for n != "" && !alphanumeric(n[len(n)-1]) {
		n = n[:len(n)-1]
	}
	return n
}

func alphanumeric(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// Deployment is the name of a revision's Deployment.
func Deployment(revision string) string { return Child(revision, "-deployment") }

// PrivateService is the name of a revision's private Service: it selects
// the revision's pods, and its EndpointSlices say which are ready.
func PrivateService(revision string) string { return Child(revision, "-private") }

// PublicService is the name of a revision's public, selector-less
// Service; its EndpointSlice is written at run time.
func PublicService(revision string) string { return Child(revision, "") }

// Ingress is the name of the KIngress of a route (a Service's or a
// DomainMapping's), as Knative's route reconciler names it; the edge
// reports of serving.Programmed are keyed by it.
func Ingress(route string) string { return Child(route, "") }
