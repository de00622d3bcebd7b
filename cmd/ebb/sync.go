package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/ebb-dev/ebb/internal/admin"
)

const syncUsage = `usage: ebb sync [--admin HOST:PORT]

Asks a running 'ebb up' to sync now: to fetch its Git repository (or read
its directory again) and apply what changed, without waiting for the next
poll. 'ebb up' accepts this only with the token it wrote at start, which
only the user who started it can read:
$XDG_RUNTIME_DIR/ebb/<port>.token, else ~/.cache/ebb/admin/<port>.token.

Flags:
  --admin HOST:PORT   the admin address 'ebb up' printed (default
                      127.0.0.1:8081, or $EBB_ADMIN)
`

func runSync(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("admin", "", "address of a running ebb up")
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, syncUsage)
		return exitOK
	}
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	*addr = adminAddr(e, *addr)
	if err == nil {
		_, err = adminPort(*addr)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb sync: %v\n%s", err, syncUsage)
		return exitUsage
	}
	if err := requestSync(ctx, e, *addr); err != nil {
		fmt.Fprintf(e.stderr, "ebb sync: %v\n", err)
		return exitInvalid
	}
	fmt.Fprintf(e.stdout, "ebb: %s syncs now\n", *addr)
	return exitOK
}

// adminAddr is the admin address of the ebb up to ask: addr, else
// $EBB_ADMIN, else the default.
func adminAddr(e *env, addr string) string {
	return cmp.Or(addr, e.getenv("EBB_ADMIN"), upDefaultAdmin)
}

// requestSync asks the ebb up at addr to sync now, with the token it
// wrote for this user.
func requestSync(ctx context.Context, e *env, addr string) error {
	port, err := adminPort(addr)
	if err != nil {
		return err
	}
	path, err := admin.TokenPath(e.getenv, port)
	var token string
	if err == nil {
		token, err = admin.ReadToken(path)
	}
	if err != nil {
		return fmt.Errorf("%w (is an ebb up of this user serving at %s?)", err, addr)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return admin.RequestSync(ctx, http.DefaultClient, addr, token)
}

// adminPort is the port of the admin address addr (host:port).
func adminPort(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(p)
}
