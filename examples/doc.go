// Package examples holds serving repositories that ebb runs and its tests
// load: each directory is one repository with its Services, its own small
// Go app (built from the ko:// image path) and its committed ledger.
package examples
