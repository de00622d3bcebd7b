// Package timeout enforces a revision's three request timeouts: a hard
// deadline for the whole request, a deadline for the first byte of the
// response, and a limit on the time between two writes.
package timeout
