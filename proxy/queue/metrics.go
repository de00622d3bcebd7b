package queue

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Prometheus metric names (Knative's, from the OpenCensus era).
const (
	metricRequestCount     = "revision_request_count"
	metricRequestLatencies = "revision_request_latencies"
	metricQueueDepth       = "revision_queue_depth"
)

// promMetrics holds the queue-proxy's own Prometheus registry.
type promMetrics struct {
	reg     *prometheus.Registry
	count   *prometheus.CounterVec
	latency *prometheus.HistogramVec

	mu     sync.Mutex
	byCode [600]atomic.Pointer[codeMetrics]
}

type codeMetrics struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

func newPromMetrics(c *Config, depth func() float64) *promMetrics {
	labels := prometheus.Labels{
		"namespace_name":     c.Namespace,
		"service_name":       c.Service,
		"configuration_name": c.Configuration,
		"revision_name":      c.Revision,
		"pod_name":           c.Pod,
		"container_name":     "queue-proxy",
	}
	m := &promMetrics{reg: prometheus.NewRegistry()}
	m.count = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        metricRequestCount,
		Help:        "The number of requests that are routed to queue-proxy",
		ConstLabels: labels,
	}, []string{"response_code", "response_code_class"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:        metricRequestLatencies,
		Help:        "The response time in millisecond",
		ConstLabels: labels,
		Buckets:     []float64{5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000},
	}, []string{"response_code", "response_code_class"})
	m.reg.MustRegister(m.count, m.latency)
	if depth != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        metricQueueDepth,
			Help:        "The current number of items in the serving and waiting queue",
			ConstLabels: labels,
		}, depth))
	}
	return m
}

// observe records one finished request.
func (m *promMetrics) observe(code int, d time.Duration) {
	if code < 100 || code >= len(m.byCode) {
		code = 599
	}
	cm := m.byCode[code].Load()
	if cm == nil {
		m.mu.Lock()
		if cm = m.byCode[code].Load(); cm == nil {
			c, class := strconv.Itoa(code), strconv.Itoa(code/100)+"xx"
			cm = &codeMetrics{count: m.count.WithLabelValues(c, class), latency: m.latency.WithLabelValues(c, class)}
			m.byCode[code].Store(cm)
		}
		m.mu.Unlock()
	}
	cm.count.Inc()
	cm.latency.Observe(float64(d) / float64(time.Millisecond))
}

func (m *promMetrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
