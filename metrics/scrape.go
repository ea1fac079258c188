package metrics

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Samples are the samples of one scrape, by name and label values: what tests read.
// A histogram appears as its <name>_count and <name>_sum.
type Samples map[string]float64

// key is how Samples names a sample: the name, then name="value" pairs sorted by name.
func key(name string, labels []string) string {
	var pairs []string
	for i := 0; i+1 < len(labels); i += 2 {
		pairs = append(pairs, labels[i]+"="+labels[i+1])
	}
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// Get returns the sample of this name and labels (name, value pairs; every label of the
// sample must be given) and whether there is one.
func (s Samples) Get(name string, labels ...string) (float64, bool) {
	v, ok := s[key(name, labels)]
	return v, ok
}

// Value is Get without the flag: 0 when there is no such sample.
func (s Samples) Value(name string, labels ...string) float64 {
	v, _ := s.Get(name, labels...)
	return v
}

// Parse reads the text exposition format.
func Parse(r io.Reader) (Samples, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	out := Samples{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName(), l.GetValue())
			}
			switch {
			case m.Counter != nil:
				out[key(name, labels)] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key(name, labels)] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[key(name+"_count", labels)] = float64(m.GetHistogram().GetSampleCount())
				out[key(name+"_sum", labels)] = m.GetHistogram().GetSampleSum()
			case m.Untyped != nil:
				out[key(name, labels)] = m.GetUntyped().GetValue()
			}
		}
	}
	return out, nil
}

// Scrape fetches url with the bearer token (none when empty) as Prometheus would, and
// parses the answer; a status other than 200 is an error that names it.
func Scrape(ctx context.Context, c *http.Client, url, token string) (Samples, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, resp.StatusCode, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	s, err := Parse(resp.Body)
	return s, resp.StatusCode, err
}
