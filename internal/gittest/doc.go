// Package gittest starts real git servers on 127.0.0.1 for tests (smart
// HTTP through git http-backend, SSH through git-upload-pack and
// git-receive-pack) and makes repositories and user commits with the git CLI.
package gittest
