package engine

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ebb-dev/ebb/engine/forge"
	"github.com/ebb-dev/ebb/serving/canary"
)

// CommentMarker starts the pull-request comment ebb keeps: ebb finds its
// comment by it, after a restart too.
const CommentMarker = "<!-- ebb:pull-request -->"

// CommentClient is what a StatusPoster needs to keep pull-request
// comments; *forge.Client is one.
type CommentClient interface {
	Comments(ctx context.Context, n int) ([]forge.Comment, error)
	CreateComment(ctx context.Context, n int, body string) (forge.Comment, error)
	EditComment(ctx context.Context, n int, id int64, body string) error
}

var _ CommentClient = (*forge.Client)(nil)

// PullRequestComments are the comments st calls for: for every preview
// of a pull request, by its number, a table of the Services it previews
// — the preview's URL (or state), the Service's canary weight, and the
// preview revision's success rate and p99 over the last minute — and
// what keeps it from running, if anything. It is pure.
func PullRequestComments(st StatusState) map[int]string {
	svcs := servicesByName(st.Services)
	out := map[int]string{}
	for _, p := range st.Source.Previews {
		n, ok := forge.Number(p.Ref)
		if !ok || p.Commit == "" {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s\n**ebb** preview `%s` at %s\n\n", CommentMarker, p.Tag, short(p.Commit))
		if len(p.Services) > 0 {
			b.WriteString("| Service | Preview | Canary weight | Success rate | p99 |\n|---|---|---|---|---|\n")
		}
		for _, name := range p.Services {
			s, rev := previewOf(p, name, svcs)
			preview := string(s.State) + ": " + s.Description
			if s.State == forge.Success {
				preview = s.TargetURL
			}
			rate, p99 := "-", "-"
			if rev != nil && rev.Figures != nil {
				rate, p99 = fmt.Sprintf("%.1f%%", rev.Figures.SuccessRate), rev.Figures.P99
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", strings.TrimPrefix(s.Context, ContextPreview+"/"), cell(preview), canaryWeight(svcs[name]), rate, p99)
		}
		if p.Error != "" {
			if len(p.Services) > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "Not run:\n\n```\n%s\n```\n", strings.ReplaceAll(p.Error, "```", "'''"))
		} else if len(p.Services) == 0 {
			b.WriteString("It changes no Service's template: nothing to preview.\n")
		}
		out[n] = b.String()
	}
	return out
}

// canaryWeight is the weight of s's analysed canary, or how it ended.
func canaryWeight(s *ServiceStatus) string {
	if s == nil || s.Rollout == nil {
		return "-"
	}
	switch s.Rollout.Phase {
	case canary.Progressing:
		return fmt.Sprintf("%s %d%%", s.Rollout.Canary, s.Rollout.Weight)
	case canary.Promoted:
		return s.Rollout.Canary + " promoted"
	}
	return s.Rollout.Canary + " rolled back"
}

// cell is s fit for a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}

// withoutFigures is a comment without its table's success rates and
// p99s, which change every minute: a change elsewhere (a preview ready, a
// canary's step) is edited in at once.
func withoutFigures(body string) string {
	lines := strings.Split(body, "\n")
	for i, l := range lines {
		if cells := strings.Split(l, " | "); strings.HasPrefix(l, "| ") && len(cells) == 5 {
			lines[i] = strings.Join(cells[:3], " | ")
		}
	}
	return strings.Join(lines, "\n")
}

// keptComment is a pull request's comment as the forge holds it.
type keptComment struct {
	id     int64
	body   string
	edited time.Time
}

// comment keeps the comment of each pull request in want; the caller
// holds postMu.
func (p *StatusPoster) comment(ctx context.Context, want map[int]string, now time.Time) error {
	if p.comments == nil {
		p.comments = map[int]*keptComment{}
	}
	for n := range p.comments {
		if _, ok := want[n]; !ok {
			delete(p.comments, n)
		}
	}
	every := cmp.Or(p.CommentEvery, time.Minute)
	for _, n := range slices.Sorted(maps.Keys(want)) {
		body := want[n]
		kc := p.comments[n]
		if kc == nil {
			list, err := p.Comments.Comments(ctx, n)
			if err != nil {
				return err
			}
			kc = &keptComment{}
			for _, c := range list {
				if strings.HasPrefix(c.Body, CommentMarker) {
					kc.id, kc.body = c.ID, c.Body
					break
				}
			}
			p.comments[n] = kc
		}
		switch {
		case kc.body == body:
		case kc.id == 0:
			c, err := p.Comments.CreateComment(ctx, n, body)
			if err != nil {
				return err
			}
			kc.id, kc.body, kc.edited = c.ID, body, now
		case now.Sub(kc.edited) >= every || withoutFigures(kc.body) != withoutFigures(body):
			if err := p.Comments.EditComment(ctx, n, kc.id, body); err != nil {
				return err
			}
			kc.body, kc.edited = body, now
		}
	}
	return nil
}
