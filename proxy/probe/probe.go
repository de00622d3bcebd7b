package probe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Probe is the subset of a Kubernetes corev1.Probe that a queue-proxy runs.
// It mirrors corev1's JSON field names so SERVING_READINESS_PROBE parses
// as-is, without pulling the Kubernetes API types into the sidecar.
type Probe struct {
	HTTPGet             *HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket           *TCPSocketAction `json:"tcpSocket,omitempty"`
	GRPC                *GRPCAction      `json:"grpc,omitempty"`
	Exec                *json.RawMessage `json:"exec,omitempty"`
	InitialDelaySeconds int32            `json:"initialDelaySeconds,omitempty"`
	TimeoutSeconds      int32            `json:"timeoutSeconds,omitempty"`
	PeriodSeconds       int32            `json:"periodSeconds,omitempty"`
	SuccessThreshold    int32            `json:"successThreshold,omitempty"`
	FailureThreshold    int32            `json:"failureThreshold,omitempty"`
}

// HTTPGetAction is corev1.HTTPGetAction.
type HTTPGetAction struct {
	Path        string       `json:"path,omitempty"`
	Port        Port         `json:"port,omitempty"`
	Host        string       `json:"host,omitempty"`
	Scheme      string       `json:"scheme,omitempty"`
	HTTPHeaders []HTTPHeader `json:"httpHeaders,omitempty"`
}

// HTTPHeader is corev1.HTTPHeader.
type HTTPHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// TCPSocketAction is corev1.TCPSocketAction.
type TCPSocketAction struct {
	Port Port   `json:"port,omitempty"`
	Host string `json:"host,omitempty"`
}

// GRPCAction is corev1.GRPCAction.
type GRPCAction struct {
	Port    int32   `json:"port"`
	Service *string `json:"service,omitempty"`
}

// Port is an IntOrString port. A named port cannot be resolved inside the
// sidecar; it parses, and is then treated as the user port.
type Port struct {
	Number int32
	Name   string
}

// UnmarshalJSON accepts 8080 or "8080" or "http".
func (p *Port) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if n, err := strconv.ParseInt(s, 10, 32); err == nil {
			p.Number = int32(n)
			return nil
		}
		p.Name = s
		return nil
	}
	return json.Unmarshal(b, &p.Number)
}

// MarshalJSON writes the number, or the name when there is no number.
func (p Port) MarshalJSON() ([]byte, error) {
	if p.Number == 0 && p.Name != "" {
		return json.Marshal(p.Name)
	}
	return json.Marshal(p.Number)
}

// Parse reads SERVING_READINESS_PROBE: one probe object, a list of them, or
// an empty string (no probe).
func Parse(s string) ([]Probe, error) {
	b := bytes.TrimSpace([]byte(s))
	if len(b) == 0 {
		return nil, nil
	}
	var list []Probe
	if b[0] == '[' {
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("parse readiness probe list: %w", err)
		}
	} else {
		var p Probe
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("parse readiness probe: %w", err)
		}
		list = []Probe{p}
	}
	for i, p := range list {
		n := 0
		for _, set := range []bool{p.HTTPGet != nil, p.TCPSocket != nil, p.GRPC != nil, p.Exec != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return nil, fmt.Errorf("readiness probe %d: want exactly one of httpGet, tcpSocket, grpc, exec; got %d", i, n)
		}
	}
	return list, nil
}
