// Package apply makes the cluster match a source's rendered objects: it
// applies them with server-side apply under one field manager, in
// dependency order, writes nothing for objects that are already as wanted,
// and prunes what the source applied last time and no longer renders,
// keeping that record (the inventory) in a ConfigMap per source.
package apply
