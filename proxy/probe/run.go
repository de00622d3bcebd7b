package probe

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Aggressive probing, used while periodSeconds is 0: Knative's period,
// timeout and limit, with a quicker first retry.
const (
	// AggressiveFirstRetry is ebb's first wait, doubled on each retry up
	// to AggressivePeriod.
	AggressiveFirstRetry = 5 * time.Millisecond
	AggressivePeriod     = 50 * time.Millisecond
	AggressiveTimeout    = 100 * time.Millisecond
	AggressiveLimit      = 10 * time.Second
)

// UserAgent is what the queue-proxy's probes to the user container send.
const UserAgent = "Knative-Queue-Proxy-Probe"

// Prober runs a container's readiness probes. Concurrent callers of Ready
// share one probe run.
type Prober struct {
	probes   []Probe
	userPort int
	h1       *http.Client
	h2       *http.Client

	mu     sync.Mutex
	cur    *call
	joined int // callers that joined a run already in flight, for tests
}

type call struct {
	done  chan struct{}
	ready bool
}

// NewProber returns a prober for probes against the container listening on
// 127.0.0.1:userPort (the port used when a probe names none). With no
// probes, the container is ready once its port accepts a TCP connection.
func NewProber(probes []Probe, userPort int) *Prober {
	if len(probes) == 0 {
		probes = []Probe{{TCPSocket: &TCPSocketAction{}}}
	}
	h2t := &http.Transport{Protocols: new(http.Protocols), DisableKeepAlives: true}
	h2t.Protocols.SetUnencryptedHTTP2(true)
	return &Prober{
		probes:   probes,
		userPort: userPort,
		h1:       &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, CheckRedirect: noRedirect},
		h2:       &http.Client{Transport: h2t},
	}
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Ready runs every probe and reports whether all pass. If a run is in
// flight, it waits for that run's result instead of starting another.
func (p *Prober) Ready(ctx context.Context) bool {
	p.mu.Lock()
	c := p.cur
	if c != nil {
		p.joined++
	} else {
		c = &call{done: make(chan struct{})}
		p.cur = c
		go func() {
			// The run is shared, so it does not end with one caller's context.
			r := p.runAll(context.WithoutCancel(ctx))
			p.mu.Lock()
			c.ready = r
			p.cur = nil
			p.mu.Unlock()
			close(c.done)
		}()
	}
	p.mu.Unlock()
	select {
	case <-c.done:
		return c.ready
	case <-ctx.Done():
		return false
	}
}

func (p *Prober) runAll(ctx context.Context) bool {
	for _, pr := range p.probes {
		if !p.run(ctx, pr) {
			return false
		}
	}
	return true
}

// run runs one probe: aggressively until it succeeds (period 0), or once.
func (p *Prober) run(ctx context.Context, pr Probe) bool {
	need := max(int(pr.SuccessThreshold), 1)
	if pr.PeriodSeconds != 0 {
		to := time.Duration(max(pr.TimeoutSeconds, 1)) * time.Second
		return p.once(ctx, pr, to) == nil
	}
	ctx, cancel := context.WithTimeout(ctx, AggressiveLimit)
	defer cancel()
	ok := 0
	// A container that was just started is usually listening within a few
	// milliseconds: retry soon at first, then at Knative's period.
	wait := AggressiveFirstRetry
	for {
		began := time.Now()
		if p.once(ctx, pr, AggressiveTimeout) == nil {
			ok++
			if ok >= need {
				return true
			}
		} else {
			ok = 0
		}
		t := time.NewTimer(max(wait-time.Since(began), 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		wait = min(2*wait, AggressivePeriod)
	}
}

func (p *Prober) addr(host string, port int32, name string) string {
	if host == "" {
		host = "127.0.0.1"
	}
	if port == 0 || name != "" {
		port = int32(p.userPort)
	}
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// once runs one attempt of a probe with the given timeout.
func (p *Prober) once(ctx context.Context, pr Probe, to time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	switch {
	case pr.HTTPGet != nil:
		return p.httpGet(ctx, pr.HTTPGet)
	case pr.GRPC != nil:
		return p.grpc(ctx, pr.GRPC)
	case pr.TCPSocket != nil:
		return dialTCP(ctx, p.addr(pr.TCPSocket.Host, pr.TCPSocket.Port.Number, pr.TCPSocket.Port.Name))
	default:
		// Exec probes cannot run in the sidecar; Knative turns them into a
		// TCP probe of the user port.
		return dialTCP(ctx, p.addr("", 0, ""))
	}
}

func dialTCP(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

func (p *Prober) httpGet(ctx context.Context, a *HTTPGetAction) error {
	scheme := "http"
	if a.Scheme == "HTTPS" || a.Scheme == "https" {
		scheme = "https"
	}
	path := a.Path
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		scheme+"://"+p.addr(a.Host, a.Port.Number, a.Port.Name)+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("K-Network-Probe", "queue")
	for _, h := range a.HTTPHeaders {
		if http.CanonicalHeaderKey(h.Name) == "Host" {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	resp, err := p.h1.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("probe %s: status %d", req.URL, resp.StatusCode)
	}
	return nil
}

// grpc calls grpc.health.v1.Health/Check over h2c, encoding the tiny
// HealthCheckRequest {string service = 1} by hand, and wants status
// SERVING (HealthCheckResponse {enum status = 1} = 1) and grpc-status 0.
func (p *Prober) grpc(ctx context.Context, a *GRPCAction) error {
	var msg []byte
	if a.Service != nil && *a.Service != "" {
		msg = append([]byte{0x0a}, binary.AppendUvarint(nil, uint64(len(*a.Service)))...)
		msg = append(msg, *a.Service...)
	}
	frame := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
	frame = append(frame, msg...)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		"http://"+p.addr("", a.Port, "")+"/grpc.health.v1.Health/Check", bytes.NewReader(frame))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	req.Header.Set("User-Agent", UserAgent)
	resp, err := p.h2.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if err != nil {
		return err
	}
	st := resp.Trailer.Get("Grpc-Status")
	if st == "" {
		st = resp.Header.Get("Grpc-Status")
	}
	if resp.StatusCode != http.StatusOK || st != "0" {
		return fmt.Errorf("grpc health check: http %d, grpc-status %q", resp.StatusCode, st)
	}
	if len(body) < 5 || !servingStatus(body[5:]) {
		return fmt.Errorf("grpc health check: not SERVING")
	}
	return nil
}

// servingStatus reports whether a HealthCheckResponse has status 1.
func servingStatus(m []byte) bool {
	for len(m) > 0 {
		key, n := binary.Uvarint(m)
		if n <= 0 {
			return false
		}
		m = m[n:]
		switch key & 7 {
		case 0:
			v, n := binary.Uvarint(m)
			if n <= 0 {
				return false
			}
			if key>>3 == 1 {
				return v == 1
			}
			m = m[n:]
		case 2:
			l, n := binary.Uvarint(m)
			if n <= 0 || uint64(len(m)-n) < l {
				return false
			}
			m = m[n+int(l):]
		default:
			return false
		}
	}
	return false
}
