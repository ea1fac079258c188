package metrics

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// Registry holds one process's figures. It is not the client library's global registry:
// two roles in one test process must not see each other's figures.
type Registry struct {
	reg *prometheus.Registry
}

// NewRegistry returns a registry with the Go runtime's and the process's collectors.
func NewRegistry() *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Handler serves the registry in the exposition formats Prometheus asks for.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{})
}

// Lint gathers every figure and returns what breaks Prometheus's naming conventions, one
// line per problem; tests fail on any.
func (r *Registry) Lint() ([]string, error) {
	mfs, err := r.reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather metrics: %w", err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		return nil, fmt.Errorf("lint metrics: %w", err)
	}
	var out []string
	for _, p := range problems {
		out = append(out, p.Metric+": "+p.Text)
	}
	return out, nil
}

// Counter counts up. Inc and Add are an atomic add: safe on hot paths.
type Counter struct{ c prometheus.Counter }

func (c *Counter) Inc() { c.c.Inc() }

// Add adds n; whole numbers keep the atomic integer path of the client library.
func (c *Counter) Add(n int) { c.c.Add(float64(n)) }

// CounterVec is a family of counters told apart by label values.
type CounterVec struct{ v *prometheus.CounterVec }

// With returns the counter of these label values (in the order the family was declared
// with). Look it up once and keep it where the path is hot.
func (v *CounterVec) With(values ...string) *Counter {
	return &Counter{c: v.v.WithLabelValues(values...)}
}

// Histogram records observations into buckets.
type Histogram struct{ o prometheus.Observer }

// ObserveDuration records d in seconds.
func (h *Histogram) ObserveDuration(d time.Duration) { h.o.Observe(d.Seconds()) }

// Observe records v.
func (h *Histogram) Observe(v float64) { h.o.Observe(v) }

// HistogramVec is a family of histograms told apart by label values.
type HistogramVec struct{ v *prometheus.HistogramVec }

// With returns the histogram of these label values.
func (v *HistogramVec) With(values ...string) *Histogram {
	return &Histogram{o: v.v.WithLabelValues(values...)}
}

// DurationBuckets are the buckets, in seconds, for latencies from a millisecond to a minute.
var DurationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// Counter registers a counter; name must end in _total.
func (r *Registry) Counter(name, help string) *Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	r.reg.MustRegister(c)
	return &Counter{c: c}
}

// CounterVec registers a family of counters with the given label names.
func (r *Registry) CounterVec(name, help string, labels ...string) *CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	r.reg.MustRegister(v)
	return &CounterVec{v: v}
}

// HistogramVec registers a family of histograms; nil buckets means DurationBuckets.
func (r *Registry) HistogramVec(name, help string, buckets []float64, labels ...string) *HistogramVec {
	if buckets == nil {
		buckets = DurationBuckets
	}
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	r.reg.MustRegister(v)
	return &HistogramVec{v: v}
}

// Kind says how Prometheus should read the samples of a Func family.
type Kind int

const (
	Gauge       Kind = iota // a value that goes up and down
	CounterKind             // a value that only goes up (it may reset when the process restarts)
)

// Emit reports one sample: its value and its label values, in the family's label order.
type Emit func(value float64, labelValues ...string)

// Func registers a family whose samples fn reports each time the registry is scraped: the
// way to expose a figure the process already holds instead of counting it twice. fn runs
// on the scraping goroutine and may be called concurrently with itself.
func (r *Registry) Func(kind Kind, name, help string, labels []string, fn func(emit Emit)) {
	r.Funcs([]Family{{Kind: kind, Name: name, Help: help, Labels: labels}}, func(emit EmitTo) {
		fn(func(v float64, labelValues ...string) { emit(0, v, labelValues...) })
	})
}

// Value registers a family of one sample without labels, read at scrape time.
func (r *Registry) Value(kind Kind, name, help string, fn func() float64) {
	r.Func(kind, name, help, nil, func(emit Emit) { emit(fn()) })
}

// Family describes one family of samples reported at scrape time.
type Family struct {
	Kind   Kind
	Name   string
	Help   string
	Labels []string
}

// EmitTo reports one sample of the family fams[family] given to Funcs.
type EmitTo func(family int, value float64, labelValues ...string)

// Funcs registers several families whose samples fn reports, in one call per scrape: for
// figures that are costly to read and give several families at once.
func (r *Registry) Funcs(fams []Family, fn func(emit EmitTo)) {
	c := &funcCollector{fn: fn}
	for _, f := range fams {
		vt := prometheus.GaugeValue
		if f.Kind == CounterKind {
			vt = prometheus.CounterValue
		}
		c.descs = append(c.descs, prometheus.NewDesc(f.Name, f.Help, f.Labels, nil))
		c.vts = append(c.vts, vt)
	}
	r.reg.MustRegister(c)
}

type funcCollector struct {
	descs []*prometheus.Desc
	vts   []prometheus.ValueType
	fn    func(EmitTo)
}

func (c *funcCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *funcCollector) Collect(ch chan<- prometheus.Metric) {
	c.fn(func(i int, v float64, labelValues ...string) {
		m, err := prometheus.NewConstMetric(c.descs[i], c.vts[i], v, labelValues...)
		if err != nil {
			// A bug of the caller (wrong number of labels); an invalid metric makes the
			// scrape say so instead of panicking the process.
			m = prometheus.NewInvalidMetric(c.descs[i], err)
		}
		ch <- m
	})
}

var _ prometheus.Collector = (*funcCollector)(nil)

// Label returns s fit for a label value: Prometheus takes any UTF-8, but an empty value
// reads as a missing label.
func Label(s string) string {
	if strings.TrimSpace(s) == "" {
		return "none"
	}
	return s
}
