package powerloss

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPowerLossCatchesSkippedShareSync proves the harness covers the
// share-state log: eddy built with -tags powerloss_skipsharesync never
// fdatasyncs the log (kill -9 would not notice: the page cache keeps it),
// and the share workload must report acknowledged records delivered
// again after the power cuts.
func TestPowerLossCatchesSkippedShareSync(t *testing.T) {
	requireFUSE(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "eddy")
	out, err := exec.Command("go", "build", "-tags", "powerloss_skipsharesync", "-o", bin,
		"github.com/eddy-streaming/eddy/cmd/eddy").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -tags powerloss_skipsharesync: %v\n%s", err, out)
	}
	r := runPowerLoss(t, runConfig{cuts: 4, seed: *flagSeed, binary: bin, minLife: time.Second, maxLife: 2 * time.Second})
	logReport(t, r)
	found := false
	for _, p := range r.problems {
		if strings.Contains(p, "deliveries of records already acknowledged") {
			found = true
		}
	}
	if !found {
		t.Fatalf("the checker found no share-group problem although eddy skipped the share-state log's fdatasync: %s", r.line())
	}
	fmt.Fprintln(os.Stderr, "powerloss: skipped share-state sync caught:", r.line())
}
