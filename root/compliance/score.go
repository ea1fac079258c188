package compliance

import (
	"fmt"
	"strings"
)

// Grade is a node score or sub-score, 'A' (best) to 'F' (worst); 0 means absent.
type Grade byte

func (g Grade) String() string {
	if g == 0 {
		return "-"
	}
	return string(rune(g))
}

// The thresholds of DESIGN.md §1.
//
// Compliance: A ≥ 95 %, B ≥ 80 %, C ≥ 50 %, D ≥ 20 %, E ≥ 5 %, else F.
//
// System updates (security updates, all updates): A: 0 and < 50, B: < 5 and < 75,
// C: < 20 and < 125, D: < 50 and < 175, E: < 80 and < 250, else F: security updates weigh
// more because a few of them move the grade as much as many ordinary ones.
//
// Vulnerabilities (only when a CVE feed is configured; see [Feed]): A: none; B: no critical
// or high and fewer than 10 medium; C: no critical and fewer than 5 high; D: fewer than 3
// critical and fewer than 20 high; E: fewer than 10 critical; else F.

// ComplianceGrade grades a compliance percentage.
func ComplianceGrade(percent float64) Grade {
	for _, t := range []struct {
		min float64
		g   Grade
	}{{95, 'A'}, {80, 'B'}, {50, 'C'}, {20, 'D'}, {5, 'E'}} {
		if percent >= t.min {
			return t.g
		}
	}
	return 'F'
}

// UpdatesGrade grades a node's available updates, security ones among them.
func UpdatesGrade(total, security int) Grade {
	for _, t := range []struct {
		sec, all int
		g        Grade
	}{{1, 50, 'A'}, {5, 75, 'B'}, {20, 125, 'C'}, {50, 175, 'D'}, {80, 250, 'E'}} {
		if security < t.sec && total < t.all {
			return t.g
		}
	}
	return 'F'
}

// Vulnerabilities counts a node's known vulnerabilities by severity.
type Vulnerabilities struct {
	Critical, High, Medium, Low int
	IDs                         []string
}

// VulnerabilityGrade grades a node's vulnerabilities.
func VulnerabilityGrade(v Vulnerabilities) Grade {
	switch {
	case v.Critical == 0 && v.High == 0 && v.Medium == 0 && v.Low == 0:
		return 'A'
	case v.Critical == 0 && v.High == 0 && v.Medium < 10:
		return 'B'
	case v.Critical == 0 && v.High < 5:
		return 'C'
	case v.Critical < 3 && v.High < 20:
		return 'D'
	case v.Critical < 10:
		return 'E'
	}
	return 'F'
}

// Score is a node's score and its sub-scores; an absent sub-score is 0.
type Score struct {
	Grade         Grade
	Compliance    Grade
	Updates       Grade
	Vulnerability Grade
}

func (s Score) String() string {
	var parts []string
	for _, p := range []struct {
		name string
		g    Grade
	}{{"compliance", s.Compliance}, {"updates", s.Updates}, {"vulnerabilities", s.Vulnerability}} {
		if p.g != 0 {
			parts = append(parts, fmt.Sprintf("%s %v", p.name, p.g))
		}
	}
	return fmt.Sprintf("%v (%s)", s.Grade, strings.Join(parts, ", "))
}

// Updates are a node's available updates, from its inventory.
type Updates struct {
	Total, Security int
}

// NodeScore is the worst of the sub-scores that are present: compliance when the node
// has one, updates when its inventory is known, vulnerabilities when a feed is configured.
func NodeScore(compliance float64, hasCompliance bool, updates *Updates, vulns *Vulnerabilities) Score {
	var s Score
	if hasCompliance {
		s.Compliance = ComplianceGrade(compliance)
	}
	if updates != nil {
		s.Updates = UpdatesGrade(updates.Total, updates.Security)
	}
	if vulns != nil {
		s.Vulnerability = VulnerabilityGrade(*vulns)
	}
	s.Grade = max(s.Compliance, s.Updates, s.Vulnerability) // 'F' > 'A'
	return s
}
