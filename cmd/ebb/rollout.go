package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/serving"
)

const rolloutUsage = `usage: ebb rollout status SERVICE [-n NAMESPACE] [--dir DIR | --admin HOST:PORT] [-o json|yaml]
       ebb rollout promote SERVICE [-n NAMESPACE] [--dir DIR]
       ebb rollout abort SERVICE [-n NAMESPACE] [--dir DIR]

Shows or steers a Service's analysed canary.

  status    the rollout's phase, canary and stable revisions, the canary's
            weight, failed checks, the last period's figures, the next
            check, and why it ended: from the ledger in DIR, or with
            --admin from a running 'ebb up'
  promote   ends the rollout: the canary takes the Service's whole
            latestRevision share as soon as it is ready
  abort     rolls the canary back: the stable revision has the share back,
            and the canary is marked failed, never routed again

promote and abort edit the Service's ledger (.ebb/NAMESPACE/SERVICE.yaml)
in DIR, a clone of the serving repository or the directory 'ebb up'
serves, and plan it again. In a Git work tree they commit that file alone
("ebb: default/web: promote web-00002 (by alice)"), authored as git names
you (user.name, else $USER), leaving whatever else is staged; push the
commit, and ebb follows it like its own. A running 'ebb up' of this user
(--admin) is asked to sync at once.

Flags:
  -n, --namespace NS   the Service's namespace (default "default")
  --dir DIR            the serving repository (default ".")
  --admin HOST:PORT    the 'ebb up' to read the status from, or to ask to
                       sync (default 127.0.0.1:8081, or $EBB_ADMIN)
  -o json|yaml         status: the rollout whole

Exit status: 0 done, 1 no such Service or rollout, or an invalid
repository, 2 usage.
`

func runRollout(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("rollout", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	namespace := fs.String("n", serving.DefaultNamespace, "the Service's namespace")
	fs.StringVar(namespace, "namespace", serving.DefaultNamespace, "the Service's namespace")
	dir := fs.String("dir", ".", "the serving repository")
	addr := fs.String("admin", "", "address of a running ebb up")
	output := fs.String("o", "", "output format: json or yaml")
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, rolloutUsage)
		return exitOK
	}
	if err == nil && len(pos) != 2 {
		err = fmt.Errorf("want an action and a SERVICE, got %d arguments", len(pos))
	}
	fromAdmin := false
	fs.Visit(func(f *flag.Flag) { fromAdmin = fromAdmin || f.Name == "admin" })
	if err == nil {
		switch {
		case pos[0] != "status" && pos[0] != string(serving.Promote) && pos[0] != string(serving.Abort):
			err = fmt.Errorf("unknown action %q: want status, promote or abort", pos[0])
		case *output != "" && *output != "json" && *output != "yaml":
			err = fmt.Errorf("-o %q: want json or yaml", *output)
		case *output != "" && pos[0] != "status":
			err = fmt.Errorf("-o is for status")
		case fromAdmin && pos[0] == "status" && *dir != ".":
			err = fmt.Errorf("--admin reads an ebb up, --dir a repository: give one")
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb rollout: %v\n%s", err, rolloutUsage)
		return exitUsage
	}
	action, service := pos[0], pos[1]
	if action != "status" {
		return steerRollout(ctx, e, serving.Steer(action), *dir, *namespace, service, adminAddr(e, *addr))
	}
	var r *engine.RolloutStatus
	if fromAdmin {
		r, err = adminRollout(ctx, *addr, *namespace, service)
	} else {
		r, err = engine.ReadRollout(*dir, *namespace, service)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb rollout status: %v\n", err)
		return exitInvalid
	}
	if *output != "" {
		raw, err := json.Marshal(r)
		if err != nil {
			fmt.Fprintf(e.stderr, "ebb rollout status: %v\n", err)
			return exitInvalid
		}
		return writeRaw(e, raw, *output)
	}
	writeRollout(e.stdout, *namespace+"/"+service, r, time.Now())
	return exitOK
}

// adminRollout reads the rollout of the Service namespace/name from the
// ebb up at addr.
func adminRollout(ctx context.Context, addr, namespace, name string) (*engine.RolloutStatus, error) {
	var svcs []engine.ServiceStatus
	if _, err := fetchAdmin(ctx, addr, "/v1/services", &svcs); err != nil {
		return nil, err
	}
	for _, s := range svcs {
		if s.Namespace == namespace && s.Name == name {
			return s.Rollout, nil
		}
	}
	return nil, fmt.Errorf("the ebb up at %s serves no Service %s/%s", addr, namespace, name)
}

// steerRollout is `ebb rollout promote|abort`: the ledger change, written
// and committed in dir, then a running ebb up asked to engine.
func steerRollout(ctx context.Context, e *env, s serving.Steer, dir, namespace, name, addr string) int {
	cmd := "ebb rollout " + string(s)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		fmt.Fprintf(e.stderr, "%s: %s is not a directory\n", cmd, dir)
		return exitUsage
	}
	res, err := engine.SteerRollout(dir, namespace, name, s, engine.GitAuthor(dir, e.getenv), time.Now())
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", cmd, err)
		return exitInvalid
	}
	for _, c := range res.Changes {
		fmt.Fprintf(e.stdout, "ebb: %s\n", c)
	}
	if res.Commit != "" {
		fmt.Fprintf(e.stdout, "ebb: committed %s to %s; push it for a cluster's ebb to follow (git push)\n", short(res.Commit), res.File)
	} else {
		fmt.Fprintf(e.stdout, "ebb: wrote %s\n", res.File)
	}
	if requestSync(ctx, e, addr) == nil {
		fmt.Fprintf(e.stdout, "ebb: the ebb up at %s syncs now\n", addr)
	}
	return exitOK
}
