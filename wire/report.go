package wire

import (
	"crypto/ed25519"
	"fmt"
	"time"
)

// ReportStatus is the outcome of one component in one run.
type ReportStatus uint8

// Statuses of enforce runs, then of audit runs. Append only.
const (
	StatusSuccess           ReportStatus = 1 // enforce: already as it should be
	StatusRepaired          ReportStatus = 2 // enforce: fixed
	StatusError             ReportStatus = 3 // enforce: could not be checked or fixed
	StatusNotApplicable     ReportStatus = 4 // enforce: does not apply here
	StatusAuditCompliant    ReportStatus = 5
	StatusAuditNonCompliant ReportStatus = 6
	StatusAuditError        ReportStatus = 7
	StatusAuditNA           ReportStatus = 8
)

var reportStatusNames = [...]string{"", "success", "repaired", "error", "not-applicable",
	"audit-compliant", "audit-noncompliant", "audit-error", "audit-na"}

func (s ReportStatus) String() string {
	if int(s) < len(reportStatusNames) && s != 0 {
		return reportStatusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Valid reports whether s is a known status.
func (s ReportStatus) Valid() bool { return s >= StatusSuccess && s <= StatusAuditNA }

// IsSuccess reports whether s is the status a changes-only report leaves out.
func (s ReportStatus) IsSuccess() bool { return s == StatusSuccess || s == StatusAuditCompliant }

// ComponentResult is one component's outcome. Index is the component's index in the applied
// policy named by the report's config id: the policy holds everything else (rule,
// directive, method, value), so reports stay small.
type ComponentResult struct {
	Index   uint32
	Status  ReportStatus
	Message string // empty for successes in the compact encoding's common case
}

// ReportBody is one run's report, as the node signs it.
type ReportBody struct {
	NodeID        string
	ConfigID      string
	RunID         uint64 // monotonic per node: the root deduplicates by (node, run)
	Start, End    time.Time
	ReportingMode ReportingMode
	// ForceAudit says the node ran everything in audit, whatever the policy said.
	ForceAudit bool
	// Results holds every component's result in full mode; in changes-only mode only the
	// results that are not successes (an empty list is the run's heartbeat).
	Results []ComponentResult
}

const reportDomain = "report"

// MaxReportResults bounds the results of one report.
const MaxReportResults = 1 << 16

// Report carries a signed ReportBody.
type Report struct {
	Signed Signed
}

func init() { register(TypeReport, func() Message { return new(Report) }) }

func (*Report) Type() Type { return TypeReport }

func (r *Report) AppendBinary(b []byte) ([]byte, error) { return r.Signed.append(b), nil }

func (r *Report) UnmarshalBinary(p []byte) error {
	d := decoder{b: p}
	r.Signed.decode(&d, 8<<20)
	return d.err
}

// NewReport signs a report body with the node's key.
func NewReport(body ReportBody, key ed25519.PrivateKey) (*Report, error) {
	if len(body.Results) > MaxReportResults {
		return nil, fmt.Errorf("report of %d results, limit %d", len(body.Results), MaxReportResults)
	}
	b := appendString(nil, body.NodeID)
	b = appendString(b, body.ConfigID)
	b = appendUvarint(b, body.RunID)
	b = appendTime(b, body.Start)
	// The end is written as a duration from the start: a few bytes instead of eight.
	b = appendUvarint(b, uint64(max(body.End.Sub(body.Start), 0)))
	b = append(b, byte(body.ReportingMode))
	b = appendBool(b, body.ForceAudit)
	b = appendUvarint(b, uint64(len(body.Results)))
	prev := uint32(0)
	for i, r := range body.Results {
		// Indexes go up within a run, so each is written as the gap from the previous one,
		// almost always one byte.
		if i > 0 && r.Index <= prev {
			return nil, fmt.Errorf("report results out of order: index %d after %d", r.Index, prev)
		}
		b = appendUvarint(b, uint64(r.Index-prev))
		prev = r.Index
		b = append(b, byte(r.Status))
		b = appendString(b, r.Message)
	}
	return &Report{Signed: Sign(reportDomain, b, key)}, nil
}

// Peek decodes the body without checking the signature.
func (r *Report) Peek() (ReportBody, error) {
	d := decoder{b: r.Signed.Body}
	body := ReportBody{
		NodeID:   d.string("node id", maxIDLen),
		ConfigID: d.string("config id", maxIDLen),
		RunID:    d.uvarint("run id"),
		Start:    d.time("start"),
	}
	body.End = body.Start.Add(time.Duration(d.uvarint("duration")))
	body.ReportingMode = ReportingMode(d.byte("reporting mode"))
	body.ForceAudit = d.bool("force audit")
	n := d.count("results", 3)
	if n > MaxReportResults {
		return ReportBody{}, fmt.Errorf("%w: report of %d results, limit %d", ErrMalformed, n, MaxReportResults)
	}
	body.Results = make([]ComponentResult, 0, n)
	idx := uint64(0)
	for i := 0; i < n && d.err == nil; i++ {
		gap := d.uvarint("index")
		if i > 0 && gap == 0 {
			d.fail("report results out of order")
			break
		}
		idx += gap
		if idx > 1<<32-1 {
			d.fail("component index out of range")
			break
		}
		res := ComponentResult{Index: uint32(idx), Status: ReportStatus(d.byte("status")), Message: d.string("message", maxReasonLen)}
		if d.err == nil && !res.Status.Valid() {
			d.fail(fmt.Sprintf("result status %d", res.Status))
		}
		body.Results = append(body.Results, res)
	}
	if d.err != nil {
		return ReportBody{}, fmt.Errorf("report: %w", d.err)
	}
	if body.NodeID == "" || body.RunID == 0 {
		return ReportBody{}, fmt.Errorf("%w: report without node id or run id", ErrMalformed)
	}
	return body, nil
}

// Verify checks the signature against the node's pinned key.
func (r *Report) Verify(pub ed25519.PublicKey) error {
	return r.Signed.Verify(reportDomain, pub)
}
