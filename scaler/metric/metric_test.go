package metric

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWireFormat pins the JSON field names that queue-proxies, activators
// and the autoscaler share.
func TestWireFormat(t *testing.T) {
	msgs := []Message{{
		Namespace: "default",
		Revision:  "hello-00001",
		Stat: Stat{
			PodName:                          "hello-00001-deployment-abc",
			AverageConcurrentRequests:        2.5,
			AverageProxiedConcurrentRequests: 1,
			RequestCount:                     10,
			ProxiedRequestCount:              4,
			ProcessUptime:                    61,
			Timestamp:                        1700000000,
		},
	}, {Namespace: "default", Revision: "hello-00002", Stat: Stat{PodName: "activator-1"}}}
	got, err := json.Marshal(msgs)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"namespace":"default","revision":"hello-00001","stat":{"podName":"hello-00001-deployment-abc","averageConcurrentRequests":2.5,"averageProxiedConcurrentRequests":1,"requestCount":10,"proxiedRequestCount":4,"processUptime":61,"timestamp":1700000000}},` +
		`{"namespace":"default","revision":"hello-00002","stat":{"podName":"activator-1","averageConcurrentRequests":0,"averageProxiedConcurrentRequests":0,"requestCount":0,"proxiedRequestCount":0,"processUptime":0}}]`
	if string(got) != want {
		t.Errorf("encoding:\n got %s\nwant %s", got, want)
	}
	var back []Message
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(msgs, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
