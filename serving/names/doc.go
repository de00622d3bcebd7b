// Package names computes the names of the objects ebb makes for a
// revision, by Knative's child-name rule (kmeta.ChildName). It imports
// only the standard library, so that the renderer, which gives the names,
// and the runtime and the gateway, which look the objects up, share one
// rule without the gateway linking serving's decoding.
package names
