package engine

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebb-dev/ebb/engine/forge"
)

// StatusClient is what a StatusPoster needs of a forge; *forge.Client is
// one.
type StatusClient interface {
	Statuses(ctx context.Context, sha string) ([]forge.Status, error)
	SetStatus(ctx context.Context, sha string, s forge.Status) error
}

var _ StatusClient = (*forge.Client)(nil)

// ForgeStatus is how posting to the forge goes, as `ebb get sources`
// shows it.
type ForgeStatus struct {
	Forge string `json:"forge"`
	// Posted counts the statuses set since ebb started; Waiting is how
	// many the state calls for that the forge does not hold yet.
	Posted  uint64 `json:"posted"`
	Waiting int    `json:"waiting,omitempty"`
	// Rounds counts the rounds made, failed or not.
	Rounds uint64 `json:"rounds"`
	// LastError is the last failed request's error ("" once a round
	// posts everything), with its time.
	LastError     string    `json:"lastError,omitempty"`
	LastErrorTime time.Time `json:"lastErrorTime,omitzero"`
	// RateLimitedUntil is when the forge's rate limit lets ebb post
	// again, while it holds.
	RateLimitedUntil time.Time `json:"rateLimitedUntil,omitzero"`
	// NextTry is when a failed round is tried again.
	NextTry time.Time `json:"nextTry,omitzero"`
}

// StatusPoster sets commit statuses on a forge beside the sync loop,
// never in its way: Run reads the statuses the state calls for (Want) on
// its own schedule and after every kick, and posts only those the forge
// does not hold. What the forge holds is read once per commit (so a
// restarted ebb posts nothing the forge already shows) and then
// remembered. A failed round is tried again after a back-off, and after
// a rate limit's reset.
type StatusPoster struct {
	// Forge names the forge's kind in status.
	Forge  string
	Client StatusClient
	// Want returns the statuses the state calls for now (see
	// CommitStatuses).
	Want func() []CommitStatus
	// Comments, when set, keeps one comment per pull request with the
	// body WantComments returns (see PullRequestComments), edited in
	// place at once when a preview's state or a canary's weight changes,
	// at most once per CommentEvery (default a minute) when only the
	// figures do.
	Comments     CommentClient
	WantComments func() map[int]string
	CommentEvery time.Duration
	// Every is how often Run looks at Want between kicks (default 5 s).
	Every  time.Duration
	Logger *slog.Logger

	postMu gosync.Mutex // one round at a time
	// known is what the forge holds: commit → context → status.
	known    map[string]map[string]forge.Status
	failures int
	// comments are the comments kept, by pull request.
	comments map[int]*keptComment

	mu    gosync.Mutex
	st    ForgeStatus
	kicks chan struct{}
}

// Back-off of failed rounds: 1 s, doubling, at most maxPostBackoff.
const (
	minPostBackoff = time.Second
	maxPostBackoff = 5 * time.Minute
)

// Status returns how posting goes.
func (p *StatusPoster) Status() *ForgeStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.st
	st.Forge = p.Forge
	return &st
}

// Post makes one round: it sets every status of want the forge does not
// hold, commit by commit, and stops at the first error, which it
// returns. It forgets what it knew of commits want no longer names. A
// failed round is tried again after a back-off from now.
func (p *StatusPoster) Post(ctx context.Context, want []CommitStatus, now time.Time) error {
	return p.Round(ctx, want, nil, now)
}

// Round is Post, then, with Comments set, keeps the comment of each pull
// request in comments (number → body; see PullRequestComments).
func (p *StatusPoster) Round(ctx context.Context, want []CommitStatus, comments map[int]string, now time.Time) error {
	p.postMu.Lock()
	defer p.postMu.Unlock()
	if p.known == nil {
		p.known = map[string]map[string]forge.Status{}
	}
	byCommit := map[string][]forge.Status{}
	for _, s := range want {
		byCommit[s.Commit] = append(byCommit[s.Commit], s.Status)
	}
	for c := range p.known {
		if _, ok := byCommit[c]; !ok {
			delete(p.known, c)
		}
	}
	err := p.post(ctx, byCommit)
	if err == nil && p.Comments != nil {
		err = p.comment(ctx, comments, now)
	}
	waiting := 0
	for c, sts := range byCommit {
		for _, s := range sts {
			if held, ok := p.known[c][s.Context]; !ok || held != s {
				waiting++
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.Waiting = waiting
	p.st.Rounds++
	if err == nil {
		p.failures, p.st.LastError, p.st.NextTry, p.st.RateLimitedUntil = 0, "", time.Time{}, time.Time{}
		return nil
	}
	p.failures++
	wait := min(minPostBackoff<<min(p.failures-1, 16), maxPostBackoff)
	p.st.RateLimitedUntil = time.Time{}
	var apiErr *forge.APIError
	if errors.As(err, &apiErr) && apiErr.RateLimited {
		until := now.Add(apiErr.RetryAfter)
		if apiErr.Reset.After(until) {
			until = apiErr.Reset
		}
		p.st.RateLimitedUntil = until
		wait = max(wait, until.Sub(now))
	}
	p.st.LastError, p.st.LastErrorTime, p.st.NextTry = err.Error(), now, now.Add(wait)
	if p.Logger != nil {
		p.Logger.Error("post commit statuses", "forge", p.Forge, "error", err, "retry", wait)
	}
	return err
}

func (p *StatusPoster) post(ctx context.Context, byCommit map[string][]forge.Status) error {
	for _, c := range slices.Sorted(maps.Keys(byCommit)) {
		held, ok := p.known[c]
		if !ok {
			list, err := p.Client.Statuses(ctx, c)
			if err != nil {
				return err
			}
			held = map[string]forge.Status{}
			for _, s := range list {
				if _, seen := held[s.Context]; !seen {
					held[s.Context] = s
				}
			}
			p.known[c] = held
		}
		for _, s := range byCommit[c] {
			if held[s.Context] == s {
				continue
			}
			if err := p.Client.SetStatus(ctx, c, s); err != nil {
				return err
			}
			held[s.Context] = s
			p.mu.Lock()
			p.st.Posted++
			p.mu.Unlock()
		}
	}
	return nil
}

// Kick asks Run for a round now (a Loop kicks after every pass). It never
// blocks.
func (p *StatusPoster) Kick() {
	select {
	case p.kicked() <- struct{}{}:
	default:
	}
}

func (p *StatusPoster) kicked() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.kicks == nil {
		p.kicks = make(chan struct{}, 1)
	}
	return p.kicks
}

// Run posts what Want returns at once, every Every, and after every kick,
// until ctx ends; after a failed round it waits out the back-off (or the
// rate limit) first. It starts from what the forge holds, forgetting what
// an earlier Run knew (another replica may have posted since).
func (p *StatusPoster) Run(ctx context.Context) {
	p.postMu.Lock()
	p.known, p.comments = nil, nil
	p.postMu.Unlock()
	every := cmp.Or(p.Every, 5*time.Second)
	kicks := p.kicked()
	for {
		wait, k := every, kicks
		var comments map[int]string
		if p.WantComments != nil {
			comments = p.WantComments()
		}
		// Each round is one tick: its time is read here, once.
		if now := time.Now(); p.Round(ctx, p.Want(), comments, now) != nil {
			// A kick does not cut a back-off short.
			wait, k = max(p.Status().NextTry.Sub(now), 0), nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-k:
			t.Stop()
		}
	}
}

// ForgeRequests registers ebb_forge_requests_total{source, forge,
// method, code} with reg (code "none" when no answer came) and returns
// the forge.Client Observe hook that counts into it.
func ForgeRequests(reg prometheus.Registerer, source, kind string) (func(method string, code int), error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ebb_forge_requests_total", Help: "Requests to the forge's API (commit statuses, pull requests), by method and answer code.",
	}, []string{"source", "forge", "method", "code"})
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	return func(method string, code int) {
		label := "none"
		if code > 0 {
			label = strconv.Itoa(code)
		}
		c.WithLabelValues(source, kind, method, label).Inc()
	}, nil
}
