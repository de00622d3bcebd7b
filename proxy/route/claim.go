package route

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// Route tables ebb renders carry ManagedByKey=ManagedByValue; a gateway in
// a cluster serves no other.
const (
	ManagedByKey   = "app.kubernetes.io/managed-by"
	ManagedByValue = "ebb"
)

// How a host claim travels in a cluster: one ConfigMap per claimed host in
// ebb's own namespace, labelled ClaimLabelKey=ClaimLabelValue, holding the
// Claim's fields under the Claim*Key data keys. ebb's controller creates
// it (never updates it) for the first namespace whose route serves the
// host, and deletes it when that namespace's routes no longer do.
const (
	ClaimLabelKey   = "ebb.dev/host-claim"
	ClaimLabelValue = "true"

	ClaimHostKey      = "host"
	ClaimNamespaceKey = "namespace"
	ClaimSourceKey    = "source"
	ClaimKindKey      = "kind"
	ClaimNameKey      = "name"
)

// Claim says which namespace owns a host.
type Claim struct {
	Host      string
	Namespace string
	// Source is the controller's source whose state made the claim; only
	// that source releases it.
	Source string
	// Kind and Name are the object whose route claimed the host (a
	// Service or a DomainMapping of Namespace).
	Kind, Name string
}

// ClaimObjectName is the name of the ConfigMap that claims host:
// "ebb-claim.<host>", or "ebb-claim-<sha256 of host>" when that would be
// longer than a ConfigMap name may be. One name per host is what makes
// the first create win.
func ClaimObjectName(host string) string {
	if n := "ebb-claim." + host; len(n) <= 253 {
		return n
	}
	sum := sha256.Sum256([]byte(host))
	return "ebb-claim-" + hex.EncodeToString(sum[:])
}

// Data is the claim as ConfigMap data.
func (c Claim) Data() map[string]string {
	return map[string]string{ClaimHostKey: c.Host, ClaimNamespaceKey: c.Namespace, ClaimSourceKey: c.Source,
		ClaimKindKey: c.Kind, ClaimNameKey: c.Name}
}

// ParseClaim reads a claim from ConfigMap data.
func ParseClaim(data map[string]string) (Claim, error) {
	c := Claim{Host: data[ClaimHostKey], Namespace: data[ClaimNamespaceKey], Source: data[ClaimSourceKey],
		Kind: data[ClaimKindKey], Name: data[ClaimNameKey]}
	if c.Host == "" || c.Namespace == "" {
		return Claim{}, errors.New("claim without host or namespace")
	}
	return c, nil
}

// LocalNamespace returns the namespace that a cluster-local host names:
// ns of <name>.<ns>.svc and <name>.<ns>.svc.<domain>. Such a host belongs
// to ns whatever the claims say.
func LocalNamespace(host string) (string, bool) {
	name, rest, ok := strings.Cut(host, ".")
	if !ok || name == "" {
		return "", false
	}
	ns, rest, _ := strings.Cut(rest, ".")
	if ns == "" || (rest != "svc" && !strings.HasPrefix(rest, "svc.")) {
		return "", false
	}
	return ns, true
}

// IsLocalName reports whether host is one of the cluster-local names of a
// Service of namespace ns: <name>.<ns>, <name>.<ns>.svc or
// <name>.<ns>.svc.<domain>.
func IsLocalName(host, ns string) bool {
	if got, ok := LocalNamespace(host); ok {
		return got == ns
	}
	name, rest, ok := strings.Cut(host, ".")
	return ok && name != "" && rest == ns
}
