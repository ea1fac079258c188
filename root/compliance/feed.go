package compliance

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// Feed is a CVE feed: the vulnerabilities of packages, which the root matches against
// each node's installed software to compute the vulnerability sub-score. It is a JSON file:
//
//	{
//	  "schemaVersion": 1,
//	  "vulnerabilities": [
//	    {"id": "CVE-2024-6387", "package": "openssh-server", "fixedIn": "1:9.2p1-2+deb12u3",
//	     "severity": "high", "score": 8.1},
//	    {"id": "CVE-2023-0001", "package": "libfoo", "introduced": "2.0", "fixedIn": "2.4.1",
//	     "score": 9.8}
//	  ]
//	}
//
// A package is affected when its installed version is at least "introduced" (any version
// when absent) and below "fixedIn" (every version when absent). Package names compare
// without regard to case; versions compare segment by segment, digits as numbers. The
// severity is "critical", "high", "medium" or "low"; when absent, the CVSS score gives it
// (≥ 9 critical, ≥ 7 high, ≥ 4 medium, else low).
type Feed struct {
	SchemaVersion   int             `json:"schemaVersion"`
	Vulnerabilities []Vulnerability `json:"vulnerabilities"`
	byPackage       map[string][]int
}

// Vulnerability is one entry of a feed.
type Vulnerability struct {
	ID         string  `json:"id"`
	Package    string  `json:"package"`
	Introduced string  `json:"introduced,omitempty"`
	FixedIn    string  `json:"fixedIn,omitempty"`
	Severity   string  `json:"severity,omitempty"`
	Score      float64 `json:"score,omitempty"`
}

// Package is one installed package of a node.
type Package struct {
	Name, Version string
}

// ParseFeed decodes and checks a feed.
func ParseFeed(b []byte) (*Feed, error) {
	var f Feed
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("CVE feed: %w", err)
	}
	if f.SchemaVersion != 1 {
		return nil, fmt.Errorf("CVE feed: schemaVersion %d, want 1", f.SchemaVersion)
	}
	f.byPackage = map[string][]int{}
	for i, v := range f.Vulnerabilities {
		if v.ID == "" || v.Package == "" {
			return nil, fmt.Errorf("CVE feed: vulnerability %d: id and package are required", i)
		}
		switch v.Severity {
		case "", "critical", "high", "medium", "low":
		default:
			return nil, fmt.Errorf("CVE feed: %s: severity %q: want critical, high, medium or low", v.ID, v.Severity)
		}
		k := strings.ToLower(v.Package)
		f.byPackage[k] = append(f.byPackage[k], i)
	}
	return &f, nil
}

func (v *Vulnerability) severity() string {
	if v.Severity != "" {
		return v.Severity
	}
	switch {
	case v.Score >= 9:
		return "critical"
	case v.Score >= 7:
		return "high"
	case v.Score >= 4:
		return "medium"
	}
	return "low"
}

// Match counts the vulnerabilities of the installed packages.
func (f *Feed) Match(pkgs []Package) Vulnerabilities {
	var out Vulnerabilities
	for _, p := range pkgs {
		for _, i := range f.byPackage[strings.ToLower(p.Name)] {
			v := &f.Vulnerabilities[i]
			if v.Introduced != "" && CompareVersions(p.Version, v.Introduced) < 0 {
				continue
			}
			if v.FixedIn != "" && CompareVersions(p.Version, v.FixedIn) >= 0 {
				continue
			}
			out.IDs = append(out.IDs, v.ID)
			switch v.severity() {
			case "critical":
				out.Critical++
			case "high":
				out.High++
			case "medium":
				out.Medium++
			default:
				out.Low++
			}
		}
	}
	return out
}

// CompareVersions orders two versions segment by segment: runs of digits as numbers,
// other runs as text; a missing segment is lower.
func CompareVersions(a, b string) int {
	for a != "" || b != "" {
		var sa, sb string
		sa, a = segment(a)
		sb, b = segment(b)
		if c := compareSegment(sa, sb); c != 0 {
			return c
		}
	}
	return 0
}

func segment(s string) (string, string) {
	s = strings.TrimLeftFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if s == "" {
		return "", ""
	}
	digit := unicode.IsDigit(rune(s[0]))
	i := 0
	for i < len(s) && (unicode.IsLetter(rune(s[i])) || unicode.IsDigit(rune(s[i]))) && unicode.IsDigit(rune(s[i])) == digit {
		i++
	}
	return s[:i], s[i:]
}

func compareSegment(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return -1
	case b == "":
		return 1
	}
	da, db := unicode.IsDigit(rune(a[0])), unicode.IsDigit(rune(b[0]))
	if da && db {
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(a) != len(b) {
			if len(a) < len(b) {
				return -1
			}
			return 1
		}
	} else if da != db {
		if da { // numbers sort after letters, like 1.0a < 1.0.1
			return 1
		}
		return -1
	}
	return strings.Compare(a, b)
}
