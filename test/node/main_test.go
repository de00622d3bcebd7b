//go:build linux

package node_test

import (
	"os"
	"testing"

	"github.com/ebb-dev/ebb/internal/nodetest"
)

func TestMain(m *testing.M) { os.Exit(nodetest.Main(packageRun{m})) }
