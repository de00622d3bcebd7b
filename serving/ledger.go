package serving

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/serving/canary"
	"github.com/ebb-dev/ebb/serving/rollout"
	"github.com/ebb-dev/ebb/serving/traffic"
)

// Ledger file identity.
const (
	LedgerAPIVersion = "ebb.dev/v1alpha1"
	LedgerKind       = "Ledger"
	// LedgerDir is the directory, at the root of the serving repository,
	// that holds one ledger file per Service: LedgerDir/<namespace>/<service>.yaml.
	LedgerDir = ".ebb"
)

// Ledger is the record, committed to Git, of one Service's revisions and
// its resolved traffic. It is the source of truth for traffic: ebb plans it
// from the Service and the previous ledger, commits it, then renders from it.
type Ledger struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Service    string `json:"service"`

	// Generation counts the distinct templates planned so far; generated
	// revision names use it (<service>-%05d).
	Generation int64 `json:"generation"`

	// Latest names the revision made from the Service's current template
	// (Knative's latestCreatedRevisionName).
	Latest string `json:"latest"`

	// LatestReady names the newest revision that became ready (Knative's
	// latestReadyRevisionName); empty until one has. latestRevision
	// traffic goes there (see LatestRouted).
	LatestReady string `json:"latestReady,omitempty"`

	// Revisions lists every revision that exists, oldest first.
	Revisions []Revision `json:"revisions"`

	// Traffic is spec.traffic resolved to concrete revision names.
	Traffic []Target `json:"traffic"`

	// Removed is set when the Service left the tree: its routes are gone,
	// its revisions stay until garbage collection takes them.
	Removed *Stamp `json:"removed,omitempty"`

	// Rollout is the Service's analysed canary: in progress, or how the
	// last one ended. Nil for a Service that never rolled out analysed.
	Rollout *canary.State `json:"rollout,omitempty"`

	// Gradual is the Service's gradual rollout in progress (Knative's
	// rollout-duration): the plan recorded at its start, from which the
	// split at any moment follows (rollout.SplitAt). Nil when none is in
	// progress.
	Gradual *rollout.Rollout `json:"gradual,omitempty"`
}

// LatestRouted is the revision latestRevision traffic goes to: the stable
// revision while a canary rolls out or after it was rolled back; else the
// latest ready one, or, while none has become ready, the latest.
func (l *Ledger) LatestRouted() string {
	if r := l.Rollout; r != nil && r.Phase != canary.Promoted {
		return r.Stable
	}
	if l.LatestReady != "" {
		return l.LatestReady
	}
	return l.Latest
}

// Revision is one immutable revision of a Service.
type Revision struct {
	Name       string `json:"name"`
	Generation int64  `json:"generation"`
	// Hash identifies the revision: its template (spec and metadata;
	// equal templates hash equal) and, when it has ko:// images, the code
	// they are built from (see RevisionHash).
	Hash string `json:"hash"`
	// Code is the content digest of each ko:// image of the template
	// (image → sha256:…) when it was created, as the serving repository
	// held it (see Tree.Code): the code the revision runs. Empty for a
	// template without ko:// images, or whose code had no digest.
	Code map[string]string `json:"code,omitempty"`
	// Created is the commit that introduced the revision and its time.
	Created Stamp `json:"created"`
	// Retired is when the routes stopped naming the revision (Knative's
	// routing state "reserve" and its routingStateModified time); nil
	// while they name it (see Ledger.Named: any traffic target, at any
	// percent, tagged or not) and while they never have (routing state
	// "pending"). Only a retired revision is garbage-collected.
	Retired *Stamp `json:"retired,omitempty"`
	// Failed is when the revision's canary was rolled back: it is never
	// routed by latestRevision again (the ledger's rollout says why).
	Failed *Stamp `json:"failed,omitempty"`
	// Template is the full template the revision runs from, so it keeps
	// running after the Service file has moved on.
	Template RevisionTemplateSpec `json:"template"`
}

// Stamp is a point in the history of the serving repository.
type Stamp struct {
	Commit string      `json:"commit"`
	Time   metav1.Time `json:"time"`
}

// Target is one resolved traffic entry.
type Target struct {
	Tag            string          `json:"tag,omitempty"`
	RevisionName   string          `json:"revisionName"`
	LatestRevision bool            `json:"latestRevision,omitempty"`
	Percent        traffic.Percent `json:"percent"`
}
