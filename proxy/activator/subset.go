package activator

import "slices"

// Activator subsetting (Knative's): when a revision is proxied through
// several activators and its containerConcurrency is limited, each
// activator sends requests only to its own share of the revision's pods, so
// that no pod gets more than containerConcurrency requests in flight from
// all activators together. Every activator computes the same split from
// the same two sorted lists: the activators serving the revision and the
// revision's pods.

// activatorIndex returns this activator's place among the activators
// serving a revision: its index in the sorted, de-duplicated addresses and
// their number. The index is -1 when self is not among them (or unknown):
// such an activator takes every pod.
func activatorIndex(activators []string, self string) (index, n int) {
	if len(activators) == 0 {
		return -1, 0
	}
	acts := slices.Compact(slices.Sorted(slices.Values(activators)))
	i, found := slices.BinarySearch(acts, self)
	if !found || self == "" {
		return -1, len(acts)
	}
	return i, len(acts)
}

// assignPods returns the pods (sorted by address) activator index of n
// takes. With more activators than pods it takes pod index mod pods;
// otherwise the slice [index·⌊P/n⌋, (index+1)·⌊P/n⌋), and activators
// 0…(P mod n)−1 each take one of the P mod n pods at the tail as well. An
// activator outside the set (index −1), or the only one, takes every pod.
// The result is a new slice; pods is not changed.
func assignPods[T any](pods []T, index, n int) []T {
	p := len(pods)
	if index < 0 || index >= n || n <= 1 || p <= 1 {
		return slices.Clone(pods)
	}
	if n > p {
		return []T{pods[index%p]}
	}
	size := p / n
	out := slices.Clone(pods[index*size : (index+1)*size])
	if tail := p % n; index < tail {
		out = append(out, pods[p-tail+index])
	}
	return out
}
