// Package kodigest computes the content digest of a ko:// image: a hash of
// its Go package and of every package of the module it builds from, read
// from the module's files wherever they are checked out, with the
// module's dependencies pinned by go.mod and go.sum.
package kodigest
