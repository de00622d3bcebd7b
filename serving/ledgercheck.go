package serving

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/ebb-dev/ebb/serving/canary"
	"github.com/ebb-dev/ebb/serving/traffic"
)

// MaxGeneration is the largest generation a ledger holds: the largest
// integer every JSON reader (kubectl, JavaScript, any decoder through
// float64) reads exactly, so that a generation, and the revision name and
// configurationGeneration label made from it, read back as written. A
// plan that would go past it is an error, never a wrapped number.
const MaxGeneration = 1<<53 - 1

// templateHashRE is the form of HashTemplate's hashes.
var templateHashRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// ledgerCheck collects the problems of one decoded ledger document,
// located by field path in its file.
type ledgerCheck struct {
	src  Source
	errs ErrorList
}

func (c *ledgerCheck) add(path, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{File: c.src.File, Line: c.src.LineOf(path), Path: path,
		Message: fmt.Sprintf(format, args...)})
}

// has reports whether the document writes the field at path.
func (c *ledgerCheck) has(path string) bool {
	_, ok := c.src.Fields[path]
	return ok
}

// required reports a field that is absent or empty.
func (c *ledgerCheck) required(path string, empty bool) bool {
	if empty || !c.has(path) {
		c.add(path, "missing field(s)")
		return false
	}
	return true
}

// between reports v outside [lo, hi] in Knative's words.
func (c *ledgerCheck) between(path string, v, lo, hi int64) {
	if c.required(path, false) && (v < lo || v > hi) {
		c.add(path, "expected %d <= %d <= %d", lo, v, hi)
	}
}

// percent checks that v at path is a share: 0 to 100.
func (c *ledgerCheck) percent(path string, v traffic.Percent) {
	if c.required(path, false) && !v.Valid() {
		c.add(path, "expected 0 <= %d <= 100", v)
	}
}

func (c *ledgerCheck) stamp(path string, s *Stamp) {
	c.required(path+".commit", s.Commit == "")
	c.required(path+".time", s.Time.IsZero())
}

// checkLedger refuses a ledger file that ebb cannot have written whole:
// one cut short (a truncated file is a valid prefix of YAML more often
// than not), missing a required field, holding a hash not of
// HashTemplate's form, a generation out of [1, MaxGeneration], or
// revisions whose names or generations repeat. Every problem is
// reported, each at its line.
func checkLedger(l *Ledger, src Source) ErrorList {
	c := &ledgerCheck{src: src}
	if l.APIVersion != LedgerAPIVersion {
		c.add("apiVersion", "unsupported apiVersion %q, want %s", l.APIVersion, LedgerAPIVersion)
	}
	if l.Kind != LedgerKind {
		c.add("kind", "unsupported kind %q, want %s", l.Kind, LedgerKind)
	}
	c.required("namespace", l.Namespace == "")
	c.required("service", l.Service == "")
	c.between("generation", l.Generation, 1, MaxGeneration)
	names := map[string]bool{}
	generations := map[int64]string{}
	for i, r := range l.Revisions {
		p := fmt.Sprintf("revisions[%d]", i)
		if c.required(p+".name", r.Name == "") && names[r.Name] {
			c.add(p+".name", "Multiple definitions for %q", r.Name)
		}
		names[r.Name] = true
		c.between(p+".generation", r.Generation, 1, max(l.Generation, 1))
		if other, ok := generations[r.Generation]; ok && r.Generation > 0 {
			c.add(p+".generation", "generation %d is also revision %q's", r.Generation, other)
		}
		generations[r.Generation] = r.Name
		if c.required(p+".hash", r.Hash == "") && !templateHashRE.MatchString(r.Hash) {
			c.add(p+".hash", "hash %q is not of the form sha256:<64 hex digits>", r.Hash)
		}
		for _, im := range slices.Sorted(maps.Keys(r.Code)) {
			if !strings.HasPrefix(im, KoPrefix) || !templateHashRE.MatchString(r.Code[im]) {
				c.add(p+".code", "code %q: %q is not a ko:// image with a digest of the form sha256:<64 hex digits>", im, r.Code[im])
			}
		}
		c.stamp(p+".created", &r.Created)
		if r.Retired != nil {
			c.stamp(p+".retired", r.Retired)
		}
		if r.Failed != nil {
			c.stamp(p+".failed", r.Failed)
		}
		c.required(p+".template", len(r.Template.Spec.Containers) == 0)
	}
	if l.Removed == nil {
		c.required("latest", l.Latest == "")
	} else {
		c.stamp("removed", l.Removed)
	}
	// A removed Service's revisions, its latest included, go with garbage
	// collection.
	if l.Removed == nil && l.Latest != "" && !names[l.Latest] {
		c.add("latest", "Revision %q not found.", l.Latest)
	}
	if l.Removed == nil && l.LatestReady != "" && !names[l.LatestReady] {
		c.add("latestReady", "Revision %q not found.", l.LatestReady)
	}
	if r := l.Rollout; r != nil {
		for _, ref := range []struct{ path, name string }{{"rollout.canary", r.Canary}, {"rollout.stable", r.Stable}} {
			if c.required(ref.path, ref.name == "") && l.Removed == nil && !names[ref.name] {
				c.add(ref.path, "Revision %q not found.", ref.name)
			}
		}
		switch r.Phase {
		case canary.Progressing, canary.Promoted, canary.RolledBack:
		default:
			c.add("rollout.phase", "unknown phase %q, want %s, %s or %s", r.Phase, canary.Progressing, canary.Promoted, canary.RolledBack)
		}
		c.percent("rollout.weight", r.Weight)
		if r.FailedChecks < 0 {
			c.add("rollout.failedChecks", "expected 0 <= %d", r.FailedChecks)
		}
	}
	var sum traffic.Percent
	for i, t := range l.Traffic {
		p := fmt.Sprintf("traffic[%d]", i)
		if c.required(p+".revisionName", t.RevisionName == "") && !names[t.RevisionName] {
			c.add(p+".revisionName", "Revision %q referenced in traffic not found.", t.RevisionName)
		}
		c.percent(p+".percent", t.Percent)
		sum += t.Percent
	}
	// Only a removed Service routes nothing; a ledger cut anywhere in its
	// traffic sums to less than 100.
	if l.Removed == nil && sum != 100 {
		c.add("traffic", "Traffic targets sum to %d, want 100", sum)
	}
	return c.errs
}
