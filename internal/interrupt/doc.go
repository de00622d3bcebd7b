// Package interrupt turns a command's stop signals into two stages: the
// first signal asks it to stop gracefully, the second to stop at once.
package interrupt
