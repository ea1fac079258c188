package policy

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels that callers (the API, the CLI's exit codes) tell apart with errors.Is.
var (
	// ErrInvalid is wrapped by every refusal of bad input: YAML, unknown names, bad values.
	ErrInvalid = errors.New("invalid policy")
	// ErrNotFound is returned when an object named by id does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInUse is returned when deleting an object that others still refer to.
	ErrInUse = errors.New("in use")
)

// Error is one refusal, naming where the bad input is: the file and line when it came from a
// file, the object, and the field as a path such as `items[2].params.path`.
type Error struct {
	File   string
	Line   int
	Object string // "technique ntp", "directive motd", ...
	Field  string
	Msg    string
	Err    error // an underlying error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Object != "" {
		b.WriteString(e.Object)
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		if e.Msg != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalid, e.Err}
	}
	return []error{ErrInvalid}
}

// Errors is a list of refusals, all reported at once so an operator fixes them in one pass.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// err returns es as an error, or nil when empty.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// source remembers where an object was read from, with the line of each field path, so that
// validation of the model, which happens after parsing, can still point at the file.
type source struct {
	file  string
	line  int
	lines map[string]int
}

func (s *source) at(field string) (string, int) {
	if s == nil {
		return "", 0
	}
	for f := field; ; {
		if l, ok := s.lines[f]; ok {
			return s.file, l
		}
		i := strings.LastIndexAny(f, ".[")
		if i <= 0 {
			return s.file, s.line
		}
		f = f[:i]
	}
}

func (s *source) errorf(object, field, format string, a ...any) *Error {
	file, line := s.at(field)
	return &Error{File: file, Line: line, Object: object, Field: field, Msg: fmt.Sprintf(format, a...)}
}
