package compliance

import (
	"slices"
	"testing"
	"time"
)

func TestPercentages(t *testing.T) {
	cases := []struct {
		counts []int64
		want   []float64
	}{
		{[]int64{1, 1, 1}, []float64{33.34, 33.33, 33.33}},
		{[]int64{1, 99999}, []float64{0.01, 99.99}},
		{[]int64{1, 999999}, []float64{0.01, 99.99}}, // 0.0001 % shows as 0.01 %
		{[]int64{1, 1, 999998}, []float64{0.01, 0.01, 99.98}},
		{[]int64{0, 5, 0}, []float64{0, 100, 0}},
		{[]int64{0, 0}, []float64{0, 0}},
		{[]int64{2, 1}, []float64{66.67, 33.33}},
		{[]int64{1, 2, 3, 4, 5, 6}, []float64{4.76, 9.52, 14.29, 19.05, 23.81, 28.57}},
	}
	for _, tc := range cases {
		got := Percentages(tc.counts)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Percentages(%v): got %v, want %v", tc.counts, got, tc.want)
		}
	}
	// Properties over many vectors: sums to 100 and no non-zero count at 0.
	for a := int64(0); a < 30; a++ {
		for b := int64(0); b < 30; b += 3 {
			c := []int64{a, b, 100000 - a - b, a * b}
			p := Percentages(c)
			var sum int
			for i, v := range p {
				sum += int(v*100 + 0.5)
				if c[i] > 0 && v == 0 {
					t.Errorf("%v: count %d shows as 0 %%", c, c[i])
				}
			}
			if sum != 10000 {
				t.Errorf("%v: shares sum to %d hundredths", c, sum)
			}
		}
	}
}

func TestGrades(t *testing.T) {
	comp := []struct {
		pct  float64
		want Grade
	}{{100, 'A'}, {95, 'A'}, {94.99, 'B'}, {80, 'B'}, {50, 'C'}, {20, 'D'}, {5, 'E'}, {4.99, 'F'}, {0, 'F'}}
	for _, tc := range comp {
		if got := ComplianceGrade(tc.pct); got != tc.want {
			t.Errorf("ComplianceGrade(%v): got %v, want %v", tc.pct, got, tc.want)
		}
	}
	upd := []struct {
		total, sec int
		want       Grade
	}{{0, 0, 'A'}, {49, 0, 'A'}, {50, 0, 'B'}, {10, 1, 'B'}, {74, 4, 'B'}, {10, 5, 'C'}, {124, 19, 'C'}, {130, 0, 'D'},
		{100, 49, 'D'}, {200, 79, 'E'}, {249, 0, 'E'}, {250, 0, 'F'}, {0, 80, 'F'}}
	for _, tc := range upd {
		if got := UpdatesGrade(tc.total, tc.sec); got != tc.want {
			t.Errorf("UpdatesGrade(%d, %d): got %v, want %v", tc.total, tc.sec, got, tc.want)
		}
	}
	vul := []struct {
		v    Vulnerabilities
		want Grade
	}{{Vulnerabilities{}, 'A'}, {Vulnerabilities{Low: 3}, 'B'}, {Vulnerabilities{Medium: 9}, 'B'}, {Vulnerabilities{Medium: 10}, 'C'},
		{Vulnerabilities{High: 4}, 'C'}, {Vulnerabilities{Critical: 2, High: 19}, 'D'}, {Vulnerabilities{Critical: 9}, 'E'}, {Vulnerabilities{Critical: 10}, 'F'}}
	for _, tc := range vul {
		if got := VulnerabilityGrade(tc.v); got != tc.want {
			t.Errorf("VulnerabilityGrade(%+v): got %v, want %v", tc.v, got, tc.want)
		}
	}
	scores := []struct {
		pct     float64
		has     bool
		upd     *Updates
		vul     *Vulnerabilities
		want    Grade
		wantVul Grade
	}{
		{96, true, &Updates{Total: 10}, nil, 'A', 0},
		{96, true, &Updates{Total: 10, Security: 6}, nil, 'C', 0},
		{40, true, &Updates{}, nil, 'D', 0},
		{0, false, &Updates{Total: 100}, nil, 'C', 0},
		{99, true, nil, &Vulnerabilities{Critical: 1}, 'D', 'D'},
		{0, false, nil, nil, 0, 0},
	}
	for _, tc := range scores {
		s := NodeScore(tc.pct, tc.has, tc.upd, tc.vul)
		if s.Grade != tc.want || s.Vulnerability != tc.wantVul {
			t.Errorf("NodeScore(%v, %v, %+v, %+v): got %v, want %v (vulnerability %v)", tc.pct, tc.has, tc.upd, tc.vul, s, tc.want, tc.wantVul)
		}
	}
}

func TestFeed(t *testing.T) {
	f, err := ParseFeed([]byte(`{"schemaVersion":1,"vulnerabilities":[
		{"id":"CVE-1","package":"OpenSSL","fixedIn":"3.0.13","score":9.8},
		{"id":"CVE-2","package":"openssl","introduced":"3.0.0","fixedIn":"3.0.9","severity":"medium"},
		{"id":"CVE-3","package":"bash","fixedIn":"5.2.15-2+b2","severity":"high"},
		{"id":"CVE-4","package":"zlib","score":2}]}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		pkgs []Package
		want []string
	}{
		{[]Package{{"openssl", "3.0.11"}}, []string{"CVE-1"}},
		{[]Package{{"openssl", "3.0.2"}}, []string{"CVE-1", "CVE-2"}},
		{[]Package{{"openssl", "3.0.13"}, {"bash", "5.2.15-2+b2"}}, nil},
		{[]Package{{"bash", "5.2.15-2"}, {"zlib", "1.2"}}, []string{"CVE-3", "CVE-4"}},
		{[]Package{{"openssl", "1.1.1"}}, []string{"CVE-1"}},
	}
	for _, tc := range cases {
		if got := f.Match(tc.pkgs).IDs; !slices.Equal(got, tc.want) {
			t.Errorf("Match(%v): got %v, want %v", tc.pkgs, got, tc.want)
		}
	}
	v := f.Match([]Package{{"openssl", "3.0.2"}, {"zlib", "1"}})
	if v.Critical != 1 || v.Medium != 1 || v.Low != 1 {
		t.Errorf("severities: got %+v", v)
	}
	for _, bad := range []string{`{}`, `{"schemaVersion":1,"vulnerabilities":[{"id":"x"}]}`, `{"schemaVersion":1,"vulnerabilities":[{"id":"x","package":"p","severity":"huge"}]}`, `[`} {
		if _, err := ParseFeed([]byte(bad)); err == nil {
			t.Errorf("ParseFeed(%s): got no error", bad)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{{"1.2", "1.10", -1}, {"1.0", "1.0.1", -1}, {"2.0", "2.0", 0}, {"1.0a", "1.0.1", -1}, {"1:9.2p1", "1:9.2p1-2", -1}, {"010", "9", 1}}
	for _, tc := range cases {
		if got := CompareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersions(%q, %q): got %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestDownsample(t *testing.T) {
	now := t0
	at := func(d time.Duration) time.Time { return now.Add(-d) }
	times := []time.Time{
		at(500 * 24 * time.Hour),                 // 0: beyond the daily horizon: dropped
		at(100*24*time.Hour + 2*time.Hour),       // 1: same day as 2: dropped
		at(100*24*time.Hour + time.Hour),         // 2: kept
		at(40*24*time.Hour + 50*time.Minute),     // 3: same hour as 4
		at(40*24*time.Hour + 40*time.Minute),     // 4
		at(40*24*time.Hour + 10*time.Minute),     // 5: the last of its hour... or the next one's
		at(10 * 24 * time.Hour), at(time.Minute), // 6, 7: full resolution
	}
	drop := Downsample(times, now)
	kept := map[int]bool{}
	for i := range times {
		kept[i] = true
	}
	for _, i := range drop {
		delete(kept, i)
	}
	for _, i := range []int{0, 1} {
		if kept[i] {
			t.Errorf("point %d kept, want dropped", i)
		}
	}
	for _, i := range []int{2, 6, 7} {
		if !kept[i] {
			t.Errorf("point %d dropped, want kept", i)
		}
	}
	hour := map[int64]int{}
	for i := 3; i <= 5; i++ {
		if kept[i] {
			hour[times[i].Unix()/3600]++
		}
	}
	for h, n := range hour {
		if n != 1 {
			t.Errorf("hour %d keeps %d points, want 1", h, n)
		}
	}
	// A month of points every 5 minutes is kept whole.
	var month []time.Time
	for d := 30*24*time.Hour - time.Minute; d > 0; d -= HistoryStep {
		month = append(month, at(d))
	}
	if drop := Downsample(month, now); len(drop) != 0 {
		t.Errorf("a month at 5-minute resolution: %d points dropped", len(drop))
	}
}

func TestCountsEncoding(t *testing.T) {
	c := Counts{StateSuccess: 48, StateError: 1, StateRepaired: 300}
	b := AppendCounts(nil, &c)
	got, err := DecodeCounts(b)
	if err != nil || got != c {
		t.Errorf("round trip: got %v, %v, want %v", got, err, c)
	}
	if len(b) > 20 {
		t.Errorf("encoding of %v is %d bytes", c, len(b))
	}
	for _, bad := range [][]byte{nil, {2}, {1, 0xff}} {
		if _, err := DecodeCounts(bad); err == nil {
			t.Errorf("DecodeCounts(%x): got no error", bad)
		}
	}
}

func TestParseState(t *testing.T) {
	for _, s := range States() {
		got, err := ParseState(s.String())
		if err != nil || got != s {
			t.Errorf("ParseState(%q): got %v, %v", s.String(), got, err)
		}
	}
	if _, err := ParseState("fine"); err == nil {
		t.Error("ParseState(fine): got no error")
	}
}
