// Package local runs revision pods as processes on this machine, for
// `ebb up`: it builds ko:// images with the Go toolchain, starts and
// supervises user containers, and stops them without leaving orphans.
package local
