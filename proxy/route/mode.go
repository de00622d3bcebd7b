package route

import "fmt"

// Mode says how a revision's traffic reaches it: the autoscaler decides
// it, the controller writes it on the revision's public EndpointSlice (as
// the value of the mode label), and the gateway follows it. `ebb gateway
// --mode` takes the same words.
type Mode int

const (
	// Proxy puts the activator in the path: it holds and buffers requests
	// while the revision is at zero or short of burst capacity.
	Proxy Mode = iota
	// Serve sends traffic straight to the revision's pods.
	Serve
)

// String is the mode's word: "proxy" or "serve", as labels and flags
// spell it.
func (m Mode) String() string {
	if m == Serve {
		return "serve"
	}
	return "proxy"
}

// ParseMode reads a mode's word ("proxy" or "serve").
func ParseMode(s string) (Mode, error) {
	switch s {
	case "proxy":
		return Proxy, nil
	case "serve":
		return Serve, nil
	}
	return Proxy, fmt.Errorf("mode %q: want serve or proxy", s)
}

// Set makes a *Mode a flag.Value.
func (m *Mode) Set(s string) error {
	v, err := ParseMode(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}
