package powerloss

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

var (
	flagCuts = flag.Int("powerloss.cuts", 0, "power cuts of TestPowerLossLong (0: the test is skipped; also EDDY_POWERLOSS_CUTS)")
	flagSeed = flag.Uint64("powerloss.seed", 0, "seed of the power-loss runs (0: from the clock)")
	flagTorn = flag.Bool("powerloss.torn", true, "keep a random prefix of each file's last pending write at a cut")
	flagFor  = flag.Duration("powerloss.for", 0, "end TestPowerLossLong after this long even if fewer cuts were made (0: no limit)")
)

func TestMain(m *testing.M) {
	flag.Parse()
	// A signal or the test binary's own timeout would skip t.Cleanup; the
	// mounts must not outlive the process either way.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sigs
		UnmountAll()
		fmt.Fprintf(os.Stderr, "powerloss: %v: unmounted the test file systems\n", s)
		os.Exit(1)
	}()
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > 0 {
			time.AfterFunc(max(d-20*time.Second, d*9/10), UnmountAll)
		}
	}
	code := eddytest.BuildBinary(m)
	if skipFsyncDir != "" {
		os.RemoveAll(skipFsyncDir)
	}
	os.Exit(code)
}

// skipFsyncDir holds the binary skipFsyncBinary built, if it ran.
var skipFsyncDir string

// skipFsyncBinary builds eddy with -tags powerloss_skipfsync once.
var skipFsyncBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "eddy-skipfsync-")
	if err != nil {
		return "", err
	}
	skipFsyncDir = dir
	bin := filepath.Join(dir, "eddy")
	out, err := exec.Command("go", "build", "-tags", "powerloss_skipfsync", "-o", bin,
		"github.com/eddy-streaming/eddy/cmd/eddy").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build -tags powerloss_skipfsync: %v\n%s", err, out)
	}
	return bin, nil
})

// runConfig describes one power-loss run.
type runConfig struct {
	cuts    int
	seed    uint64
	binary  string        // "" is the binary TestMain built
	minLife time.Duration // how long the server runs under load before a cut
	maxLife time.Duration
	torn    bool
	// limit ends the run early (checking what it has) once it has run this
	// long; 0 is no limit.
	limit time.Duration
}

// serverArgs are the flags of every `eddy serve` of a run: small segments
// so that cuts land in segment rolls, index flushes and zero-fills, and
// retention every 200ms so that they land in segment deletions too.
var serverArgs = []string{"--segment-bytes", "16KiB", "--default-partitions", "1", "--fsync", "always",
	"--retention-check-interval", "200ms"}

// runPowerLoss runs the workloads against eddy serve on a power-loss file
// system, cutting the power cfg.cuts times, and returns the report.
func runPowerLoss(t *testing.T, cfg runConfig) *report {
	requireFUSE(t)
	if cfg.seed == 0 {
		cfg.seed = uint64(time.Now().UnixNano())
	}
	t.Logf("powerloss: seed %d (rerun with -powerloss.seed=%d)", cfg.seed, cfg.seed)
	rng := rand.New(rand.NewPCG(cfg.seed, 1))
	dir := t.TempDir()
	backing, store, mnt := filepath.Join(dir, "backing"), filepath.Join(dir, "store"), filepath.Join(dir, "mnt")
	for _, d := range []string{backing, mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pfs, err := Mount(backing, store, mnt, Options{TornWrites: cfg.torn, Seed: cfg.seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := pfs.Close(); err != nil {
			t.Error(err)
		}
	})
	opts := []eddytest.Option{eddytest.DataDir(mnt), eddytest.Args(serverArgs...)}
	if cfg.binary != "" {
		opts = append(opts, eddytest.WithBinary(cfg.binary))
	}

	r := &report{}
	ws := workloads()
	began := time.Now()
	var tStart, tCheck, tLoad, tCut time.Duration // where the time goes
	for life := 0; ; life++ {
		t0 := time.Now()
		p := eddytest.Start(t, opts...)
		tStart += time.Since(t0)
		t0 = time.Now()
		e, err := newEnv(life, p.KafkaAddr(), p.HTTPURL(), cfg.seed)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		if life == 0 {
			for _, w := range ws {
				if err := w.setup(ctx, e); err != nil {
					t.Fatalf("setup %s: %v", w.name(), err)
				}
			}
		} else {
			for _, w := range ws {
				w.check(ctx, e, life == cfg.cuts, r)
			}
		}
		cancel()
		tCheck += time.Since(t0)
		if life == cfg.cuts {
			e.close()
			p.Stop()
			break
		}
		if cfg.limit > 0 && time.Since(began) > cfg.limit && life > 0 {
			// Out of time: check everything now, as after the last cut.
			t.Logf("powerloss: time limit %v reached after %d cuts", cfg.limit, r.cuts)
			cfg.cuts = life
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			for _, w := range ws {
				w.check(ctx, e, true, r)
			}
			cancel()
			e.close()
			p.Stop()
			break
		}

		ctx, cancel = context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, w := range ws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.run(ctx, e)
			}()
		}
		life := cfg.minLife + time.Duration(rng.Int64N(int64(cfg.maxLife-cfg.minLife)+1))
		time.Sleep(life)
		tLoad += life
		t0 = time.Now()
		if err := pfs.PowerCut(p.Kill); err != nil {
			cancel()
			t.Fatalf("power cut: %v", err)
		}
		r.cuts++
		if r.cuts%50 == 0 {
			t.Logf("powerloss: %d of %d cuts, %v", r.cuts, cfg.cuts, time.Since(began).Round(time.Second))
		}
		cancel()
		wg.Wait()
		e.close()
		tCut += time.Since(t0)
	}
	t.Logf("time: starting eddy %v, checks %v, under load %v, cutting and rebuilding %v",
		tStart.Round(time.Second), tCheck.Round(time.Second), tLoad.Round(time.Second), tCut.Round(time.Second))
	st := pfs.Stats()
	t.Logf("file system: %d writes, %d file fsyncs, %d directory fsyncs, %d files with pending changes lost at cuts, %d torn writes, %d lazy unmounts",
		st.Writes, st.Fsyncs, st.DirFsyncs, st.LostFiles, st.TornWrites, st.LazyUnmounts)
	return r
}

func logReport(t *testing.T, r *report) {
	for _, n := range r.notes {
		t.Log(n)
	}
	t.Log(r.line())
	for _, p := range r.problems {
		t.Log("  " + p)
	}
	if r.nproblems > len(r.problems) {
		t.Logf("  … and %d more", r.nproblems-len(r.problems))
	}
}

// TestPowerLossShort is the CI run: a few cuts over every workload.
func TestPowerLossShort(t *testing.T) {
	r := runPowerLoss(t, runConfig{cuts: 4, seed: *flagSeed, minLife: 500 * time.Millisecond, maxLife: 2 * time.Second, torn: *flagTorn})
	logReport(t, r)
	fmt.Println(r.line())
	if r.lost+r.duplicated+r.reordered > 0 || r.nproblems > 0 {
		t.Fatalf("%s", r.line())
	}
	if r.acked == 0 {
		t.Fatal("no operation was acknowledged: the run tested nothing")
	}
}

// TestPowerLossLong is the long run, -powerloss.cuts=N (or
// EDDY_POWERLOSS_CUTS=N); skipped otherwise.
func TestPowerLossLong(t *testing.T) {
	cuts := *flagCuts
	if v := os.Getenv("EDDY_POWERLOSS_CUTS"); v != "" && cuts == 0 {
		cuts, _ = strconv.Atoi(v)
	}
	if cuts <= 0 {
		t.Skip("long power-loss run: set -powerloss.cuts=N or EDDY_POWERLOSS_CUTS=N")
	}
	r := runPowerLoss(t, runConfig{cuts: cuts, seed: *flagSeed, minLife: 200 * time.Millisecond, maxLife: 2 * time.Second, torn: *flagTorn, limit: *flagFor})
	logReport(t, r)
	fmt.Println(r.line())
	if r.lost+r.duplicated+r.reordered > 0 || r.nproblems > 0 {
		t.Fatalf("%s", r.line())
	}
}

// TestPowerLossCatchesSkippedFsync proves the harness can fail: eddy built
// with -tags powerloss_skipfsync skips the directory fsync after creating a
// segment, which kill -9 never notices, and the checker must report lost
// acknowledged records within a normal short run.
func TestPowerLossCatchesSkippedFsync(t *testing.T) {
	requireFUSE(t)
	bin, err := skipFsyncBinary()
	if err != nil {
		t.Fatal(err)
	}
	r := runPowerLoss(t, runConfig{cuts: 4, seed: *flagSeed, binary: bin, minLife: time.Second, maxLife: 2 * time.Second})
	logReport(t, r)
	if r.lost == 0 {
		t.Fatalf("the checker found no loss although eddy skipped the segment directory fsync: %s", r.line())
	}
}
