package cli

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"
)

// alignedTable aligns tab-separated cells like text/tabwriter.NewWriter(w, 0, 4, 2, ' ', 0), which it
// replaces wherever a cell may be coloured: tabwriter counts the bytes of ANSI sequences as
// text and would push the columns after a coloured cell out of line. Lines are cut into
// cells at tabs; the text after a line's last tab is not aligned. A column block is a run of
// consecutive lines that have that column, as in tabwriter.
type alignedTable struct {
	w   io.Writer
	buf bytes.Buffer
}

func newTable(w io.Writer) *alignedTable { return &alignedTable{w: w} }

func (t *alignedTable) Write(p []byte) (int, error) { return t.buf.Write(p) }

// Flush writes the aligned table.
func (t *alignedTable) Flush() error {
	text := t.buf.String()
	t.buf.Reset()
	if text == "" {
		return nil
	}
	trailingNewline := strings.HasSuffix(text, "\n")
	text = strings.TrimSuffix(text, "\n")
	var lines [][]string
	for _, l := range strings.Split(text, "\n") {
		lines = append(lines, strings.Split(l, "\t"))
	}
	var out bytes.Buffer
	formatColumns(&out, lines, nil, 0, len(lines))
	if !trailingNewline {
		out.Truncate(out.Len() - 1)
	}
	_, err := t.w.Write(out.Bytes())
	return err
}

// formatColumns is tabwriter's format: for the next column, find each block of lines that
// have it, size the column to the block's widest cell plus the padding, recurse.
func formatColumns(out *bytes.Buffer, lines [][]string, widths []int, line0, line1 int) {
	column := len(widths)
	for this := line0; this < line1; this++ {
		if column >= len(lines[this])-1 {
			continue
		}
		writeLines(out, lines[line0:this], widths)
		line0 = this
		width := 0
		for ; this < line1 && column < len(lines[this])-1; this++ {
			width = max(width, visibleWidth(lines[this][column])+2)
		}
		formatColumns(out, lines, append(widths, width), line0, this)
		line0 = this
	}
	writeLines(out, lines[line0:line1], widths)
}

func writeLines(out *bytes.Buffer, lines [][]string, widths []int) {
	for _, cells := range lines {
		for j, c := range cells {
			out.WriteString(c)
			if j < len(cells)-1 && j < len(widths) {
				out.WriteString(strings.Repeat(" ", widths[j]-visibleWidth(c)))
			}
		}
		out.WriteByte('\n')
	}
}

// visibleWidth is the width of s on a terminal: its runes, less ANSI SGR sequences.
func visibleWidth(s string) int {
	return utf8.RuneCountInString(stripANSI(s))
}

// stripANSI removes the SGR sequences (ESC [ ... m) palette writes.
func stripANSI(s string) string {
	if !strings.Contains(s, "\x1b[") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == ';') {
				j++
			}
			if j < len(s) && s[j] == 'm' {
				i = j
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
