package engine

// Health is the one reading of a revision's state as RevisionHealth, for
// every runtime: the pods it wants (desired) and has ready (actual), and
// its Ready condition as Knative's Revision reports it (status, reason,
// message). Reason then reads "Reason: message", or Reason alone; a
// revision Ready with no pod wanted nor ready reads "scaled to zero".
func Health(desired int32, actual int, ready Condition, reason, message string) RevisionHealth {
	h := RevisionHealth{Desired: desired, Actual: actual, Ready: ready, Reason: reason}
	switch {
	case message != "" && reason != "":
		h.Reason += ": " + message
	case message != "":
		h.Reason = message
	case ready == True && desired == 0 && actual == 0:
		h.Reason = "scaled to zero"
	}
	return h
}
