// Package engine follows a serving repository (Git remote, local repository
// or plain directory), writes ledger changes back to it, and applies what
// each commit renders.
package engine
