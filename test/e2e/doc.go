// Package e2e runs ebb the way its users do: the built binary, real
// processes, real HTTP on 127.0.0.1.
package e2e
