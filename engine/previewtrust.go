package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ebb-dev/ebb/engine/forge"
)

// PreviewTrust says which pull requests may run as previews. A pull
// request is untrusted: anyone who can open one, from a fork, would
// otherwise run code under ebb. Branches of the repository itself
// (refs/heads/…) are trusted like the repository: only those who can push
// to it make them.
type PreviewTrust struct {
	// Forks lets every pull request run, forks included, and needs no
	// forge: the explicit choice of a repository where every author is
	// trusted.
	Forks bool
	// Authors are forge logins whose pull requests run wherever their
	// head lives.
	Authors []string
	// Labels let a pull request run when it carries any of them (set by
	// someone allowed to label, after a review).
	Labels []string
}

// IsPullRequestRef reports whether ref is a forge's pull (or merge)
// request ref, which anyone who can open a pull request can move.
func IsPullRequestRef(ref string) bool {
	return strings.HasPrefix(ref, "refs/pull/") || strings.HasPrefix(ref, "refs/merge-requests/")
}

// Decide returns nil when pr may run as a preview, else why not. Only an
// open pull request runs; it runs when its head is a branch of the same
// repository, when Forks is set, when its author is one of Authors, or
// when it carries one of Labels.
func (t PreviewTrust) Decide(pr forge.PullRequest) error {
	if !pr.Open {
		return fmt.Errorf("pull request #%d is closed", pr.Number)
	}
	if pr.SameRepository || t.Forks {
		return nil
	}
	if slices.ContainsFunc(t.Authors, func(a string) bool { return strings.EqualFold(a, pr.Author) }) {
		return nil
	}
	for _, l := range pr.Labels {
		if slices.Contains(t.Labels, l) {
			return nil
		}
	}
	from := "a fork"
	if pr.HeadRepository != "" {
		from = "fork " + pr.HeadRepository
	}
	why := fmt.Sprintf("pull request #%d comes from %s", pr.Number, from)
	if len(t.Authors) > 0 {
		why += fmt.Sprintf(", its author %q is not a trusted author", pr.Author)
	}
	if len(t.Labels) > 0 {
		why += fmt.Sprintf(", and it has none of the labels %s", strings.Join(t.Labels, ", "))
	}
	return fmt.Errorf("%s: not trusted", why)
}
