package clients

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// kafkajsDir holds the kafkajs script and its package.json; .ci/run
// installs its node_modules with npm ci.
var kafkajsDir = filepath.Join("testdata", "kafkajs")

// kafkajsFromRoot is kafkajsDir from the repository root, where the
// install command of the skip message runs.
const kafkajsFromRoot = "test/clients/testdata/kafkajs"

// kafkajsInstall installs the pinned kafkajs (package-lock.json).
const kafkajsInstall = "npm ci --prefix " + kafkajsFromRoot + " --no-audit --no-fund"

// needKafkajs checks for node and an installed kafkajs.
func needKafkajs(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("node")
	needClient(t, err == nil, "node is not on PATH", "apt-get install -y nodejs npm")
	_, err = os.Stat(filepath.Join(kafkajsDir, "node_modules", "kafkajs", "package.json"))
	needClient(t, err == nil, "kafkajs is not installed in "+kafkajsFromRoot, kafkajsInstall)
}

// kafkajs runs the tutorial script; kafkajs logs JSON lines on stdout too,
// so only the tutorial's own lines are returned.
func kafkajs(t *testing.T, s *eddytest.Process, mode string, count int) []string {
	t.Helper()
	r := mustCmd(t, s, 90*time.Second, "", "node", filepath.Join(kafkajsDir, "tutorial.js"), mode, s.KafkaAddr(), fmt.Sprint(count))
	var out []string
	for _, l := range lines(r.stdout) {
		if !strings.HasPrefix(l, "{") {
			out = append(out, l)
		}
	}
	return out
}

func TestKafkajsTutorial(t *testing.T) {
	t.Parallel()
	needKafkajs(t)
	s := eddytest.Start(t)

	got := kafkajs(t, s, "produce", 10)
	var want []string
	for i := range 10 {
		want = append(want, fmt.Sprintf("Produced order created event: %d", i))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("kafkajs producer printed %q", got)
	}

	// What kafkajs wrote, as the eddy CLI reads it.
	r := eddy(t, s, "", "consume", "order-events", "--from-beginning", "--exit-at-end", "--format", "{{.Key}} {{.Value}}")
	for i, l := range lines(r.stdout) {
		k, v, _ := strings.Cut(l, " ")
		var o struct {
			OrderID int `json:"orderId"`
			Total   int `json:"total"`
		}
		if err := json.Unmarshal([]byte(v), &o); err != nil || k != fmt.Sprint(i) || o.OrderID != i || o.Total != 10*i {
			t.Errorf("record %d: %q (%v)", i, l, err)
		}
	}
	if n := len(lines(r.stdout)); n != 10 {
		t.Errorf("topic holds %d records, want 10", n)
	}

	got = kafkajs(t, s, "consume", 10)
	want = want[:0]
	for i := range 10 {
		want = append(want, fmt.Sprintf("Processing order: %d", i))
	}
	if !slices.Equal(got, want) {
		t.Errorf("kafkajs group consumer printed %q, want %q", got, want)
	}
	waitLag(t, s, "order-processor", 0)
}

// TestKafkajsInstallHint: the skip message's install command names the
// directory that holds the pinned package-lock.json, from the root.
func TestKafkajsInstallHint(t *testing.T) {
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, kafkajsFromRoot, "package-lock.json")); err != nil {
		t.Fatalf("%s: %v", kafkajsFromRoot, err)
	}
	fromRoot, _ := filepath.Abs(filepath.Join(root, kafkajsFromRoot))
	if here, _ := filepath.Abs(kafkajsDir); here != fromRoot {
		t.Fatalf("kafkajsFromRoot %q is not kafkajsDir %q", kafkajsFromRoot, kafkajsDir)
	}
}
