// Package admin is the one admin server of ebb: the settings every
// admin listener runs with (timeouts, header and body limits), the
// guards in front of every admin endpoint (the Host and Origin checks of
// a server on this machine, bearer tokens, Kubernetes token and access
// reviews in a cluster, a rate limit on sync requests), and the
// endpoints every Git source serves: its status, a sync trigger and the
// push webhook (whose receiver, engine/webhook's, is handed in, so the
// gateway links no engine code). NewHandler is the one admin handler of `ebb up` and the
// controller, its endpoints chosen by Options.
package admin
