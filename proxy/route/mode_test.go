package route

import (
	"flag"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMode(t *testing.T) {
	for _, tc := range []struct {
		word string
		want Mode
		err  bool
	}{
		{"proxy", Proxy, false},
		{"serve", Serve, false},
		{"Serve", Proxy, true},
		{"", Proxy, true},
	} {
		got, err := ParseMode(tc.word)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseMode(%q) = %v, %v; want %v, error %v", tc.word, got, err, tc.want, tc.err)
		}
		if err == nil && got.String() != tc.word {
			t.Errorf("ParseMode(%q).String() = %q", tc.word, got.String())
		}
	}
}

// A Mode is a flag: its zero value is Proxy, printed as the default.
func TestModeFlag(t *testing.T) {
	var got []Mode
	for _, args := range [][]string{nil, {"--mode", "serve"}, {"--mode=proxy"}} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		var m Mode
		fs.Var(&m, "mode", "")
		if err := fs.Parse(args); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		got = append(got, m)
	}
	if diff := cmp.Diff([]Mode{Proxy, Serve, Proxy}, got); diff != "" {
		t.Errorf("modes (-want +got):\n%s", diff)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var m Mode
	fs.Var(&m, "mode", "")
	if err := fs.Parse([]string{"--mode", "fast"}); err == nil {
		t.Error("--mode fast parsed")
	}
}
