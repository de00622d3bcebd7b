package main

import (
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
