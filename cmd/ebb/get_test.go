package main

import (
	"strings"
	"testing"
	"time"
)

func TestAge(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		created time.Time
		want    string
	}{
		{now.Add(-45 * time.Second), "45s"},
		{now.Add(-12 * time.Minute), "12m"},
		{now.Add(-5 * time.Hour), "5h"},
		{now.Add(-72 * time.Hour), "3d"},
		{now.Add(time.Minute), "0s"},
		{time.Unix(0, 0), "-"},
	} {
		if got := age(now.Sub(tt.created)); got != tt.want {
			t.Errorf("age since %v = %q, want %q", tt.created, got, tt.want)
		}
	}
}

func TestOneLine(t *testing.T) {
	long := strings.Repeat("x", maxCell+10)
	for _, tt := range []struct {
		in, want string
	}{
		{"", ""},
		{"ExitCode1", "ExitCode1"},
		{"a.yaml:1: spec: bad\n", "a.yaml:1: spec: bad"},
		{"a.yaml:1: spec: bad\nb.yaml:2: spec: worse", "a.yaml:1: spec: bad (+1 more line)"},
		{"build ko://example.com/app: exit status 1\n./main.go:3:1: syntax error\n./main.go:9:2: undefined: x\n",
			"build ko://example.com/app: exit status 1 (+2 more lines)"},
		{long, strings.Repeat("x", maxCell-1) + "…"},
		{long + "\nmore", strings.Repeat("x", maxCell-1) + "… (+1 more line)"},
		{strings.Repeat("é", maxCell), strings.Repeat("é", maxCell)},
	} {
		if got := oneLine(tt.in); got != tt.want {
			t.Errorf("oneLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
