package serving

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Code names the content of the ko:// images of a tree: image → digest
// ("sha256:<hex>"), worked out where the tree was read (the Go package and
// everything of the repository it builds from, see package kodigest). An
// image it does not name (no Go module provides it) counts as before: by
// its template alone.
type Code map[string]string

// KoImages returns the ko:// images of t's containers and init
// containers, sorted, each once.
func KoImages(t *RevisionTemplateSpec) []string {
	var out []string
	for _, cs := range [][]corev1.Container{t.Spec.Containers, t.Spec.InitContainers} {
		for _, c := range cs {
			if strings.HasPrefix(c.Image, KoPrefix) {
				out = append(out, c.Image)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// KoImages returns the ko:// images of the tree's Services, sorted, each
// once: those Code should name.
func (t *Tree) KoImages() []string {
	var out []string
	for _, s := range t.Services {
		if it := t.items[s]; it != nil {
			out = append(out, it.ko...)
			for _, e := range t.earlier[s] {
				out = append(out, e.ko...)
			}
		} else {
			out = append(out, KoImages(&s.Spec.Template)...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// of returns the digests of images that c names; nil when none.
func (c Code) of(images []string) map[string]string {
	var out map[string]string
	for _, im := range images {
		if d, ok := c[im]; ok {
			if out == nil {
				out = map[string]string{}
			}
			out[im] = d
		}
	}
	return out
}

// RevisionHash identifies a revision: its template's HashTemplate when
// code is empty, so that a template without ko:// images hashes as it
// always has; otherwise the SHA-256 of that hash and each image's
// digest, so that a change of the code alone is a new revision.
func RevisionHash(t *RevisionTemplateSpec, code map[string]string) string {
	return combineHash(HashTemplate(t), code)
}

// combineHash is RevisionHash of a template whose HashTemplate is hash.
func combineHash(hash string, code map[string]string) string {
	if len(code) == 0 {
		return hash
	}
	h := sha256.New()
	fmt.Fprintf(h, "ebb-revision-v1\ntemplate %s\n", hash)
	for _, im := range slices.Sorted(maps.Keys(code)) {
		fmt.Fprintf(h, "code %s %s\n", im, code[im])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// codeDiff is the (-old +new) diff of two revisions' code, a line per
// image whose digest changed; "" when none did.
func codeDiff(old, new map[string]string) string {
	images := slices.Sorted(maps.Keys(old))
	images = slices.Compact(slices.Sorted(slices.Values(append(images, slices.Collect(maps.Keys(new))...))))
	var b strings.Builder
	for _, im := range images {
		if old[im] == new[im] {
			continue
		}
		if d, ok := old[im]; ok {
			fmt.Fprintf(&b, "- %s %s\n", im, d)
		}
		if d, ok := new[im]; ok {
			fmt.Fprintf(&b, "+ %s %s\n", im, d)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "code:\n" + b.String()
}

// shortCode names code in a few words: each image's digest, shortened.
func shortCode(code map[string]string) string {
	var parts []string
	for _, im := range slices.Sorted(maps.Keys(code)) {
		parts = append(parts, strings.TrimPrefix(im, KoPrefix)+" "+code[im][:min(len(code[im]), len("sha256:")+12)])
	}
	return strings.Join(parts, ", ")
}

// recordsCode reports whether a revision of l records its code: l was
// written by a version of ebb that records it.
func (l *Ledger) recordsCode() bool {
	return slices.ContainsFunc(l.Revisions, func(r Revision) bool { return len(r.Code) > 0 })
}

// settled is a ledger planned against without a change, and the code
// digests planned with it.
type settled struct {
	ledger *Ledger
	code   map[string]string
}

// same reports whether code gives images the digests s was planned with.
func (s *settled) same(images []string, code Code) bool {
	for _, im := range images {
		d, ok := code[im]
		if was, had := s.code[im]; ok != had || d != was {
			return false
		}
	}
	return true
}

// adoptCode records the code of a ledger written before revisions
// recorded theirs in its latest revision, when that revision's template
// is the Service's: the revision is taken to run the code there is now,
// rather than every ko:// Service getting a new revision on upgrade.
func (p *planner) adoptCode(latest *Revision) bool {
	if len(p.code) == 0 || p.next.recordsCode() || latest.Hash != HashTemplate(&p.svc.Spec.Template) {
		return false
	}
	latest.Hash, latest.Code = p.hash, maps.Clone(p.code)
	p.change(ChangeCode, latest.Name, "revision %s records its code (%s)", latest.Name, shortCode(p.code))
	return true
}
