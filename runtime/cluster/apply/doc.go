// Package apply makes the cluster match a source's rendered objects: it
// applies them with server-side apply under one field manager, in
// dependency order, writes nothing for objects that are already as wanted,
// and prunes what the source applied last time and no longer renders,
// keeping that record (the inventory) in a ConfigMap per source.
//
// One type, SSA, does it all; its files are its verbs, as in fluxcd/pkg
// ssa: ssa.go holds the type and its options, apply.go and pass.go apply,
// delete.go prunes and deletes, release.go lets go of adopted objects,
// wait.go waits for definitions to be served, inventory.go and store.go
// are the inventory and where it is kept.
package apply
