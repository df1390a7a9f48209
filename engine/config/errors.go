package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Pos is a place in a file.
type Pos struct {
	File   string
	Line   int
	Column int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Error is one mistake in routes.yaml (or in a rules file it names), with
// where it is and the line it is on, marked.
type Error struct {
	Pos     Pos
	Msg     string
	Snippet string // the source line and a caret under the column
}

func (e *Error) Error() string {
	if e.Snippet != "" {
		return fmt.Sprintf("%s: %s\n%s", e.Pos, e.Msg, e.Snippet)
	}
	return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
}

// Errors is every mistake found: checking goes on after the first so that
// `plexus validate` lists them all at once.
type Errors []*Error

func (l Errors) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find each *Error.
func (l Errors) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// sort orders errors by place, those in the config file itself first.
func (l Errors) sort(first string) {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(-cmp.Compare(boolInt(a.Pos.File == first), boolInt(b.Pos.File == first)), cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Column, b.Pos.Column))
	})
}

// snippet returns line `line` of src with a caret under column col.
func snippet(src []byte, line, col int) string {
	if line <= 0 || src == nil {
		return ""
	}
	lines := strings.Split(string(src), "\n")
	if line > len(lines) {
		return ""
	}
	l := strings.TrimRight(lines[line-1], "\r")
	if col < 1 {
		col = 1
	}
	pad := make([]byte, 0, col)
	for i := 0; i < col-1 && i < len(l); i++ {
		if l[i] == '\t' {
			pad = append(pad, '\t')
		} else {
			pad = append(pad, ' ')
		}
	}
	return fmt.Sprintf("    %4d | %s\n         | %s^", line, l, pad)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
