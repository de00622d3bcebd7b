// Package breaker limits how many requests run at once and how many may wait
// for a slot, rejecting the rest at once instead of letting them queue
// without bound.
package breaker
