package activator

import "math/rand/v2"

// pod is one backend of a revision as the activator sees it: an address
// that passed the activator's probe, and the requests this activator has in
// flight to it. Its fields are guarded by the throttler's lock.
type pod struct {
	addr     string
	inflight int
}

// policy picks a pod with a free slot from a snapshot of healthy pods
// (sorted by address) for a revision with containerConcurrency cc (0 means
// unlimited), and returns a callback that gives the slot back. It returns
// a nil pod when every pod is full. rr is the policy's own state (the round
// robin position). A policy runs under the throttler's lock.
type policy func(pods []*pod, cc int, rr *int) (*pod, func())

// policyFor returns Knative's policy for a containerConcurrency: power of
// two choices when unlimited, first available for 1..3, round robin above.
func policyFor(cc int) policy {
	switch {
	case cc == 0:
		return powerOfTwo
	case cc <= 3:
		return firstAvailable
	default:
		return roundRobin
	}
}

func take(p *pod) (*pod, func()) {
	p.inflight++
	return p, func() { p.inflight-- }
}

func hasRoom(p *pod, cc int) bool { return cc == 0 || p.inflight < cc }

// powerOfTwo picks two distinct pods at random and takes the one with fewer
// requests in flight, at random on a tie.
func powerOfTwo(pods []*pod, cc int, _ *int) (*pod, func()) {
	switch len(pods) {
	case 0:
		return nil, nil
	case 1:
		return take(pods[0])
	}
	i := rand.IntN(len(pods))
	j := rand.IntN(len(pods) - 1)
	if j >= i {
		j++
	}
	a, b := pods[i], pods[j]
	if b.inflight < a.inflight || (b.inflight == a.inflight && rand.IntN(2) == 0) {
		a = b
	}
	return take(a)
}

// firstAvailable takes the first pod, in address order, with a free slot.
func firstAvailable(pods []*pod, cc int, _ *int) (*pod, func()) {
	for _, p := range pods {
		if hasRoom(p, cc) {
			return take(p)
		}
	}
	return nil, nil
}

// roundRobin takes the next pod after the last one chosen that has a free
// slot.
func roundRobin(pods []*pod, cc int, rr *int) (*pod, func()) {
	n := len(pods)
	for k := range n {
		i := (*rr + k) % n
		if hasRoom(pods[i], cc) {
			*rr = (i + 1) % n
			return take(pods[i])
		}
	}
	return nil, nil
}
