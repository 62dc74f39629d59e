package powerloss

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A workload drives one kind of durable state of the server through the
// run and checks it after every restart. Adding one is one file: a type
// implementing workload, listed in workloads().
//
// The rules every workload follows:
//   - run records an operation as acknowledged only when the server said it
//     succeeded; everything it sent is recorded as attempted before it is
//     sent, so the check can tell a phantom (never sent) from a maybe (sent,
//     not acknowledged: it may or may not have survived).
//   - run returns soon after ctx ends; a power cut ends the server first, so
//     requests in flight fail and stay unacknowledged.
//   - check reads what survived through the server's public interfaces and
//     counts acknowledged operations missing (lost), present twice
//     (duplicated) or out of order (reordered); anything else wrong is a
//     problem. It runs after every restart (final=false: cheap checks, e.g.
//     committed offsets never going back) and once at the end (final=true:
//     everything, adding the workload's acknowledged count to the report).
type workload interface {
	name() string
	// setup creates what the workload needs; it runs once, before the first
	// cut, and must succeed.
	setup(ctx context.Context, e *env) error
	// run drives the server until ctx ends.
	run(ctx context.Context, e *env)
	// check compares what survived with what was acknowledged.
	check(ctx context.Context, e *env, final bool, r *report)
}

// workloads returns a fresh set of every workload of the run.
func workloads() []workload {
	return []workload{
		// Retention bounds what a long run keeps: every restart recovers
		// every segment and every cut rebuilds every file.
		&produceWorkload{topic: "pl-produce", partitions: 4, configs: map[string]string{
			"segment.bytes": "16384", "retention.bytes": "1048576",
		}},
		&produceWorkload{topic: "pl-retained", partitions: 2, configs: map[string]string{
			"segment.bytes": "4096", "retention.bytes": "16384",
		}},
		&offsetsWorkload{group: "pl-offsets", topic: "pl-produce", partitions: 4},
		&eventStoreWorkload{topic: "pl-events", streams: 8},
		&shareWorkload{group: "pl-share", topic: "pl-produce"},
		&topicConfigWorkload{topic: "pl-config"},
	}
}

// env is what a workload gets for one life of the server.
type env struct {
	life      int
	kafkaAddr string
	httpURL   string
	http      *http.Client
	adm       *kadm.Client
	admCl     *kgo.Client

	rngMu sync.Mutex
	rng   *rand.Rand
}

// intN returns a random int in [0, n); workloads call it from many
// goroutines.
func (e *env) intN(n int) int {
	e.rngMu.Lock()
	defer e.rngMu.Unlock()
	return e.rng.IntN(n)
}

func newEnv(life int, kafkaAddr, httpURL string, seed uint64) (*env, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(kafkaAddr), kgo.RequestRetries(2),
		kgo.RetryTimeout(5*time.Second), kgo.DialTimeout(2*time.Second))
	if err != nil {
		return nil, err
	}
	return &env{
		life: life, kafkaAddr: kafkaAddr, httpURL: httpURL,
		http:  &http.Client{Timeout: 10 * time.Second},
		adm:   kadm.NewClient(cl),
		admCl: cl,
		rng:   rand.New(rand.NewPCG(seed, uint64(life))),
	}, nil
}

func (e *env) close() {
	e.admCl.Close()
	e.http.CloseIdleConnections()
}

// report gathers the outcome of a run.
type report struct {
	mu         sync.Mutex
	cuts       int
	acked      int64
	lost       int64
	duplicated int64
	reordered  int64
	problems   []string
	nproblems  int
	notes      []string
}

// note records a fact about the run worth printing (not a finding).
func (r *report) note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func (r *report) add(acked, lost, dup, reord int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acked += acked
	r.lost += lost
	r.duplicated += dup
	r.reordered += reord
}

// problem records a finding; the first 30 are kept word for word.
func (r *report) problem(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nproblems++
	if len(r.problems) < 30 {
		r.problems = append(r.problems, fmt.Sprintf(format, args...))
	}
}

// line is the run's one-line summary.
func (r *report) line() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("powerloss: cuts=%d acknowledged=%d lost=%d duplicated=%d reordered=%d problems=%d",
		r.cuts, r.acked, r.lost, r.duplicated, r.reordered, r.nproblems)
}

// sleepCtx sleeps for d or until ctx ends, reporting whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
