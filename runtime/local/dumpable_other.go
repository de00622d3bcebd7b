//go:build !linux

package local

// Undumpable does nothing where there is no prctl.
func Undumpable() error { return nil }
