package cond

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("condition syntax error")

// SyntaxError says where an expression stopped making sense.
type SyntaxError struct {
	Expr   string
	Offset int // byte offset of the fault in Expr
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("condition %q: at offset %d: %s", e.Expr, e.Offset, e.Msg)
}

func (e *SyntaxError) Unwrap() error { return ErrSyntax }

type op uint8

const (
	opName op = iota
	opTrue
	opFalse
	opNot
	opAnd
	opOr
)

// Expr is a parsed condition. The zero Expr is not valid; use [Parse] or [True].
type Expr struct {
	op   op
	name string
	args []*Expr
}

// True returns the expression that always holds, what an item without a condition has.
func True() *Expr { return &Expr{op: opTrue} }

// MaxLen bounds the expressions Parse accepts, so a hostile technique cannot make the parser
// recurse without end.
const MaxLen = 64 << 10

const maxDepth = 200

// Parse parses expr. An empty or blank expression is [True].
func Parse(expr string) (*Expr, error) {
	if len(expr) > MaxLen {
		return nil, &SyntaxError{Expr: expr[:64] + "...", Offset: MaxLen, Msg: fmt.Sprintf("longer than %d bytes", MaxLen)}
	}
	p := parser{s: expr}
	p.skip()
	if p.i == len(p.s) {
		return True(), nil
	}
	e := p.or(0)
	if p.err != nil {
		return nil, p.err
	}
	p.skip()
	if p.i < len(p.s) {
		return nil, p.fail(fmt.Sprintf("unexpected %q", p.s[p.i]))
	}
	return e, nil
}

type parser struct {
	s   string
	i   int
	err *SyntaxError
}

func (p *parser) fail(msg string) *SyntaxError {
	if p.err == nil {
		p.err = &SyntaxError{Expr: p.s, Offset: p.i, Msg: msg}
	}
	return p.err
}

func (p *parser) skip() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *parser) peek() byte {
	p.skip()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *parser) or(depth int) *Expr {
	e := p.and(depth)
	for p.err == nil && p.peek() == '|' {
		p.i++
		if p.i < len(p.s) && p.s[p.i] == '|' { // CFEngine accepts || as well
			p.i++
		}
		r := p.and(depth)
		e = join(opOr, e, r)
	}
	return e
}

func (p *parser) and(depth int) *Expr {
	e := p.unary(depth)
	for p.err == nil {
		c := p.peek()
		if c != '.' && c != '&' {
			break
		}
		p.i++
		if c == '&' && p.i < len(p.s) && p.s[p.i] == '&' {
			p.i++
		}
		r := p.unary(depth)
		e = join(opAnd, e, r)
	}
	return e
}

func join(o op, l, r *Expr) *Expr {
	if l == nil || r == nil {
		return nil
	}
	if l.op == o {
		l.args = append(l.args, r)
		return l
	}
	return &Expr{op: o, args: []*Expr{l, r}}
}

func (p *parser) unary(depth int) *Expr {
	if depth > maxDepth {
		p.fail(fmt.Sprintf("nested deeper than %d", maxDepth))
		return nil
	}
	switch c := p.peek(); {
	case c == 0:
		p.fail("expression ends where a condition is expected")
		return nil
	case c == '!':
		p.i++
		e := p.unary(depth + 1)
		if e == nil {
			return nil
		}
		return &Expr{op: opNot, args: []*Expr{e}}
	case c == '(':
		open := p.i
		p.i++
		e := p.or(depth + 1)
		if p.err != nil {
			return nil
		}
		if p.peek() != ')' {
			if p.i >= len(p.s) {
				p.i = open
				p.fail("unclosed parenthesis")
			} else {
				p.fail(fmt.Sprintf("expected ')', found %q", p.s[p.i]))
			}
			return nil
		}
		p.i++
		return e
	default:
		return p.name()
	}
}

func nameByte(c byte) bool {
	return c == '_' || c == ':' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// name reads a condition name, with any ${...} references (nested ones included) kept
// verbatim.
func (p *parser) name() *Expr {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '$' && p.i+1 < len(p.s) && (p.s[p.i+1] == '{' || p.s[p.i+1] == '(') {
			if !p.variable() {
				return nil
			}
			continue
		}
		if !nameByte(c) {
			break
		}
		p.i++
	}
	if p.i == start {
		p.fail(fmt.Sprintf("unexpected %q where a condition is expected", p.s[p.i]))
		return nil
	}
	n := p.s[start:p.i]
	switch n {
	case "any", "true":
		return &Expr{op: opTrue}
	case "false":
		return &Expr{op: opFalse}
	}
	return &Expr{op: opName, name: n}
}

func (p *parser) variable() bool {
	start := p.i
	open := p.s[p.i+1]
	closeB := byte('}')
	if open == '(' {
		closeB = ')'
	}
	depth := 0
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == open:
			depth++
		case c == closeB:
			depth--
			if depth == 0 {
				p.i++
				return true
			}
		}
		p.i++
	}
	p.i = start
	p.fail("unclosed variable reference")
	return false
}

// Eval reports whether the expression holds when defined says which names are defined.
func (e *Expr) Eval(defined func(name string) bool) bool {
	switch e.op {
	case opTrue:
		return true
	case opFalse:
		return false
	case opName:
		return defined(e.name)
	case opNot:
		return !e.args[0].Eval(defined)
	case opAnd:
		for _, a := range e.args {
			if !a.Eval(defined) {
				return false
			}
		}
		return true
	case opOr:
		for _, a := range e.args {
			if a.Eval(defined) {
				return true
			}
		}
		return false
	}
	return false
}

// Names returns the distinct names the expression depends on, sorted.
func (e *Expr) Names() []string {
	set := map[string]struct{}{}
	e.walk(func(x *Expr) {
		if x.op == opName {
			set[x.name] = struct{}{}
		}
	})
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// HasVariables reports whether a name holds a ${...} reference, which only the agent can
// expand.
func (e *Expr) HasVariables() bool {
	found := false
	e.walk(func(x *Expr) {
		if x.op == opName && strings.Contains(x.name, "$") {
			found = true
		}
	})
	return found
}

// IsTrue reports whether the expression always holds without looking at any name: the
// condition of an item that has none.
func (e *Expr) IsTrue() bool { return e.op == opTrue }

func (e *Expr) walk(fn func(*Expr)) {
	fn(e)
	for _, a := range e.args {
		a.walk(fn)
	}
}

// String prints the expression in canonical form: `.` for and, `|` for or, parentheses only
// where precedence needs them. Parse(e.String()) is equivalent to e.
func (e *Expr) String() string {
	var b strings.Builder
	e.print(&b, opOr)
	return b.String()
}

func (e *Expr) print(b *strings.Builder, parent op) {
	switch e.op {
	case opTrue:
		b.WriteString("any")
	case opFalse:
		b.WriteString("false")
	case opName:
		b.WriteString(e.name)
	case opNot:
		b.WriteByte('!')
		e.args[0].print(b, opNot)
	case opAnd, opOr:
		sep := "."
		if e.op == opOr {
			sep = "|"
		}
		paren := parent == opNot || (parent == opAnd && e.op == opOr)
		if paren {
			b.WriteByte('(')
		}
		for i, a := range e.args {
			if i > 0 {
				b.WriteString(sep)
			}
			a.print(b, e.op)
		}
		if paren {
			b.WriteByte(')')
		}
	}
}

// Canonify returns s with every byte that is not an ASCII letter, digit or underscore
// replaced by an underscore, as Rudder's canonify does: "/etc/motd" becomes "_etc_motd". A
// multi-byte character becomes one underscore per byte, as in CFEngine.
func Canonify(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b[i] = '_'
		}
	}
	return string(b)
}
