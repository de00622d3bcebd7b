package serving

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
)

// maxNameLength is the longest Kubernetes object name ebb makes.
const maxNameLength = 63

// RevisionName is the generated name of a Service's revision of a
// generation, <service>-%05d, kept to 63 characters by Knative's
// child-name rule (the Service name is cut and md5(service) put in).
func RevisionName(service string, generation int64) string {
	return ChildName(service, fmt.Sprintf("-%05d", generation))
}

// ChildName is Knative's kmeta.ChildName: parent+suffix, or when that is
// longer than 63 characters, the parent cut to leave room for the 32 hex
// digits of md5(parent) and the suffix.
func ChildName(parent, suffix string) string {
	if len(parent)+len(suffix) <= maxNameLength {
		return parent + suffix
	}
	const room = maxNameLength - md5.Size*2
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
