// Package recent remembers keys for a while: a cache of at most a fixed
// number of entries, each kept until it expires or, when the cache is
// full, until it is the oldest.
package recent
