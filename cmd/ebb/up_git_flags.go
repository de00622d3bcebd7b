package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ebb-dev/ebb/serving"
)

const upGitUsage = `
Following Git (ebb up URL):
  URL is https://, http://, ssh://, user@host:path, file:// or a bare
  repository on this machine. ebb fetches it, runs what its head renders,
  and pushes every ledger change back as a commit (never forced).
  --ref REF             what to follow: refs/heads/NAME, refs/tags/NAME, a
                        full commit hash, or a branch name
  --branch NAME         branch to follow (default main)
  --tag NAME            follow a tag instead
  --commit HASH         pin one commit instead
  --write-branch NAME   push ledger commits to NAME instead of the followed branch
  --read-only           never push: keep the ledger in memory
  --poll DURATION       how often to fetch (default 1m, ±10% jitter)
  --webhook-secret-file FILE  accept pushes signed with the secret in FILE
                        (or $EBB_WEBHOOK_SECRET) at POST /v1/webhook on --admin
  --preview GLOB        run the refs matching GLOB as previews (repeatable, e.g.
                        'refs/heads/preview/*', 'refs/pull/*/head'); default none
  --forge KIND[=API]    github, gitlab or gitea: read each pull request from the
                        forge's API (token in $EBB_FORGE_TOKEN, else the Git token)
  --commit-statuses     set commit statuses on the forge (needs --forge): ebb/apply,
                        ebb/preview/<service>, ebb/rollout/<service>
  --pr-comment          with --commit-statuses: keep one comment on each previewed pull
                        request (service, preview URL, canary weight, success rate, p99)
  --preview-author LOGIN  run pull requests of this author, even from forks (repeatable)
  --preview-label NAME  run pull requests carrying this label (repeatable)
  --preview-forks       run every pull request, forks included
  --preview-image PAT   images a preview may run ('*' matches anything; repeatable;
                        default: the images the branch runs, and ko:// paths)
  --preview-namespace NS  run each preview as a Service <service>-<tag> of its own
                        in NS (which must exist) instead of a tagged revision
  --preview-ttl D       drop a preview TTL after its head was fetched (default 72h)
  --preview-user U[:G]  with ebb up as root, previews' processes run as this user
                        (default 65534:65534, nobody)
  --username NAME       HTTP(S) user; the password or token comes from
                        $EBB_GIT_PASSWORD, a bearer token from $EBB_GIT_TOKEN
  --ssh-key FILE        SSH private key ($EBB_GIT_SSH_PASSPHRASE unlocks it)
  --known-hosts FILE    SSH known_hosts (default ~/.ssh/known_hosts)
` + verifyUsage

// gitFlags are the flags of `ebb up URL`.
type gitFlags struct {
	ref, branch, tag, commit, writeBranch *string
	readOnly                              *bool
	poll, previewTTL                      *time.Duration
	secretFile, username, sshKey, known   *string
	previews                              stringList
	forge, previewUser, previewNamespace  *string
	previewForks, commitStatuses          *bool
	prComment                             *bool
	previewAuthors, previewLabels         stringList
	previewImages                         stringList
	verify                                *verifyFlags

	// secretOnCommandLine is --webhook-secret, refused: its value would
	// be visible to every user of the machine (ps, /proc/PID/cmdline).
	secretOnCommandLine refusedFlag

	// limits bound what is read of each commit (and of DIR).
	limits serving.Limits
}

// refusedFlag is a flag that may not be given; it records that it was,
// never its value.
type refusedFlag bool

func (f *refusedFlag) String() string     { return "" }
func (f *refusedFlag) Set(v string) error { *f = true; return nil }

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func addGitFlags(fs *flag.FlagSet) *gitFlags {
	g := &gitFlags{
		ref:              fs.String("ref", "", "ref to follow"),
		branch:           fs.String("branch", "", "branch to follow"),
		tag:              fs.String("tag", "", "tag to follow"),
		commit:           fs.String("commit", "", "commit to pin"),
		writeBranch:      fs.String("write-branch", "", "branch for ledger commits"),
		readOnly:         fs.Bool("read-only", false, "keep the ledger in memory"),
		poll:             fs.Duration("poll", time.Minute, "fetch interval"),
		previewTTL:       fs.Duration("preview-ttl", 72*time.Hour, "preview lifetime"),
		secretFile:       fs.String("webhook-secret-file", "", "file holding the webhook secret"),
		username:         fs.String("username", "", "HTTP(S) user"),
		sshKey:           fs.String("ssh-key", "", "SSH private key file"),
		known:            fs.String("known-hosts", "", "known_hosts file"),
		forge:            fs.String("forge", "", "forge kind and API URL"),
		previewForks:     fs.Bool("preview-forks", false, "run every pull request"),
		commitStatuses:   fs.Bool("commit-statuses", false, "set commit statuses on the forge"),
		prComment:        fs.Bool("pr-comment", false, "keep a comment on each previewed pull request"),
		previewUser:      fs.String("preview-user", "65534:65534", "uid[:gid] previews run as"),
		previewNamespace: fs.String("preview-namespace", "", "namespace previews run in"),
	}
	fs.Var(&g.previews, "preview", "preview ref glob")
	fs.Var(&g.previewAuthors, "preview-author", "trusted pull request author")
	fs.Var(&g.previewLabels, "preview-label", "trusted pull request label")
	fs.Var(&g.previewImages, "preview-image", "image pattern a preview may run")
	fs.Var(&g.secretOnCommandLine, "webhook-secret", "refused: use --webhook-secret-file")
	fs.Var(&g.limits, "limits", "limits on what is read")
	g.verify = addVerifyFlags(fs)
	return g
}

// webhookSecret is the secret of POST /v1/webhook: the content of
// --webhook-secret-file (without its final newline), else
// $EBB_WEBHOOK_SECRET; "" when neither is given. A secret given on the
// command line is an error.
func (g *gitFlags) webhookSecret(e *env) (string, error) {
	if g.secretOnCommandLine {
		return "", errors.New("--webhook-secret: a secret on the command line is visible to every user of this machine; " +
			"give --webhook-secret-file FILE or $EBB_WEBHOOK_SECRET")
	}
	if *g.secretFile == "" {
		return e.getenv("EBB_WEBHOOK_SECRET"), nil
	}
	b, err := os.ReadFile(*g.secretFile)
	if err != nil {
		return "", fmt.Errorf("--webhook-secret-file: %w", err)
	}
	secret := strings.TrimRight(string(b), "\r\n")
	if secret == "" {
		return "", fmt.Errorf("--webhook-secret-file %s: empty", *g.secretFile)
	}
	return secret, nil
}
