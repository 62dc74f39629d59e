//go:build linux

package probes

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// Item 8: on a full disk (a 24 MiB tmpfs as data directory) produce
// answers KAFKA_STORAGE_ERROR and the HTTP append 507 storage_error, with
// messages naming no absolute path, logged once per episode instead of
// once per request; once space is back the canary succeeds. Needs root
// (mount); skips otherwise.
func TestProbeDiskFull(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=24m"); err != nil {
		t.Skipf("mount tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	p := eddytest.Start(t, eddytest.DataDir(dir), eddytest.Args("--segment-bytes", "4MiB"))
	createTopic(t, p, "filler", 1, nil)
	rc := dialRaw(t, p.KafkaAddr())
	val := make([]byte, 256<<10)
	var failed int
	var lastMsg string
	for i := 0; i < 400 && failed < 200; i++ {
		got := rc.produce("filler", rawBatch(rawRecord(0, nil, val), 1, 0))
		if got.ErrorCode == 0 {
			continue
		}
		if got.ErrorCode != kerr.KafkaStorageError.Code {
			t.Fatalf("produce on a full disk: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(got.ErrorCode))
		}
		failed++
		if got.ErrorMessage != nil {
			lastMsg = *got.ErrorMessage
		}
	}
	if failed == 0 {
		t.Fatal("the disk never filled")
	}
	if strings.Contains(lastMsg, dir) || lastMsg == "" {
		t.Fatalf("storage error message %q is empty or names the data directory", lastMsg)
	}
	t.Logf("%d produces refused, message: %s", failed, lastMsg)
	code, body := httpPost(t, "http://"+p.HTTPAddr()+"/v1/topics/es-full/streams/s-1", `{"events":[{"id":"x","type":"T","data":"`+strings.Repeat("z", 64<<10)+`"}]}`)
	if code != 507 && code != 200 {
		t.Fatalf("append on a full disk: %d %s", code, body)
	}
	if code == 507 && (!strings.Contains(body, "storage_error") || strings.Contains(body, dir)) {
		t.Fatalf("507 body %s", body)
	}
	lines := strings.Count(p.Output(), `"msg":"produce"`) + strings.Count(p.Output(), `"msg":"produce durability wait"`)
	if lines > 4 {
		t.Fatalf("%d error lines for %d failed produces: not rate-limited", lines, failed)
	}
	alive(t, p)
	if out, err := exec.Command("mount", "-o", "remount,size=256m", dir).CombinedOutput(); err != nil {
		t.Skipf("remount: %v %s", err, out)
	}
	canary(t, p, 3*time.Second)
}
