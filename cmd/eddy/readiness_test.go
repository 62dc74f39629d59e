package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/config"
	"github.com/eddy-streaming/eddy/internal/eddytest"
	"github.com/eddy-streaming/eddy/internal/node"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

func inProcessConfig(t *testing.T, dir string) config.Config {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.KafkaAddr, cfg.HTTPAddr, cfg.SchemaRegistryAddr = "127.0.0.1:0", eddytest.FreeAddr(t), "127.0.0.1:0"
	return cfg
}

// copyDir copies the regular files of src into dst, one level of
// subdirectories deep: a snapshot of a running server's data directory,
// which is what a crash leaves (synced data, no clean-shutdown markers).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if d.Name() == "LOCK" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadyzDuringRecovery: while partition logs recover after a crash,
// /healthz answers 200 and /readyz 503 "starting"; once recovered and
// listening, /readyz answers 200.
func TestReadyzDuringRecovery(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	// A data directory with data in 4 partitions, snapshotted while the
	// server runs (no clean-shutdown markers).
	live := t.TempDir()
	s, err := openNode(inProcessConfig(t, live), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Broker.CreateTopic("r", 4, nil, false); err != nil {
		_ = s.Close(context.Background())
		t.Fatal(err)
	}
	for p := range int32(4) {
		w, err := s.Broker.Write("r", p, recordBatch(10, 100), broker.WriteOptions{})
		if err == nil {
			err = w.Wait()
		}
		if err != nil {
			_ = s.Close(context.Background())
			t.Fatal(err)
		}
	}
	crashed := t.TempDir()
	copyDir(t, live, crashed)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Recover it on a disk whose segment reads take 100 ms, so the recovery
	// scan of each unclean partition's tail is slow enough to observe.
	cfg := inProcessConfig(t, crashed)
	started := make(chan error, 1)
	opened := make(chan *node.Node, 1)
	go func() {
		s2, err := openNode(cfg, slog.New(slog.DiscardHandler), slowSyncFS{FS: vfs.OS(), readDelay: 100 * time.Millisecond, suffix: ".log"})
		opened <- s2
		started <- err
	}()
	defer func() {
		s2 := <-opened
		if s2 == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s2.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	}()

	base := "http://" + cfg.HTTPAddr
	sawStarting := false
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-started:
			if err != nil {
				t.Fatal(err)
			}
			if !sawStarting {
				t.Fatal("start finished before /readyz was ever seen answering 503 during recovery")
			}
			if code, body := httpGet(t, base+"/readyz"); code != 200 {
				t.Fatalf("/readyz after start = %d %q", code, body)
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("start did not finish in 30s")
		}
		code, body, ok := tryGet(base + "/readyz")
		if ok {
			if code == 503 && strings.Contains(body, "starting") {
				if !sawStarting {
					if hc, _, _ := tryGet(base + "/healthz"); hc != 200 {
						t.Errorf("/healthz = %d during recovery, want 200", hc)
					}
				}
				sawStarting = true
			} else if code != 200 {
				t.Fatalf("/readyz during start = %d %q", code, body)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tryGet is an HTTP GET that reports failure instead of failing the test.
func tryGet(url string) (int, string, bool) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", false
	}
	return resp.StatusCode, string(b), true
}
