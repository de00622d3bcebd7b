// Package metric defines the load statistics that queue-proxies and
// activators report to the autoscaler, and their wire format.
//
// Wire format (JSON, UTF-8):
//   - A queue-proxy answers GET StatPath on its metrics port (9090) with one
//     Stat object for the last full second, Content-Type ContentType.
//   - An activator (or anything else that sees requests) POSTs a JSON array
//     of Message objects to the autoscaler's PushPath.
//
// Besides the load, a Stat carries the second's answers: how many, how
// many failed and a histogram of their latencies (see LatencyBounds). The
// autoscaler adds them up per revision into Figures, which canary analysis
// reads. Those fields are omitted when zero, so peers that predate them
// read and write the same JSON as before.
package metric

// Wire constants.
const (
	StatPath    = "/metrics"
	PushPath    = "/v1/stats"
	ContentType = "application/json"
)

// Stat is one pod's load over one second.
type Stat struct {
	// PodName identifies the reporter: a revision's pod or an activator.
	PodName string `json:"podName"`
	// AverageConcurrentRequests is the time-weighted average of requests in
	// flight over the second (queued requests included for activators).
	AverageConcurrentRequests float64 `json:"averageConcurrentRequests"`
	// AverageProxiedConcurrentRequests is the part of the above that came
	// through an activator (header K-Proxy-Request: activator).
	AverageProxiedConcurrentRequests float64 `json:"averageProxiedConcurrentRequests"`
	// RequestCount is the number of requests that arrived in the second.
	RequestCount float64 `json:"requestCount"`
	// ProxiedRequestCount is the part of RequestCount that came through an
	// activator.
	ProxiedRequestCount float64 `json:"proxiedRequestCount"`
	// ProcessUptime is the reporter's uptime in seconds.
	ProcessUptime float64 `json:"processUptime"`
	// Timestamp is the end of the second, in Unix seconds; 0 means "now",
	// filled in by the receiver.
	Timestamp int64 `json:"timestamp,omitempty"`

	// Responses is the number of requests answered in the second, whatever
	// their status (an upgraded connection, 101, is not counted). A
	// queue-proxy counts only the requests that did not come through an
	// activator: the activator counts those itself, as it answers them.
	Responses int64 `json:"responses,omitempty"`
	// Failures is the part of Responses answered with a 5xx status: the
	// app's own, and the proxy's 502 (the app could not be reached), 503
	// (full queue, failed revision) and 504 (timeout).
	Failures int64 `json:"failures,omitempty"`
	// Latency counts the Responses by latency (arrival to the end of the
	// answer): Latency[i] those in bucket i of LatencyBounds. Trailing
	// empty buckets are left out.
	Latency []uint32 `json:"latency,omitempty"`
}

// Message addresses a Stat to a revision.
type Message struct {
	Namespace string `json:"namespace"`
	Revision  string `json:"revision"`
	Stat      Stat   `json:"stat"`
}
