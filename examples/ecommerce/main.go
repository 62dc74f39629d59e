// Command ecommerce is the seed's e-commerce system running on Eddy: an
// order service (HTTP, event-sourced orders in the event store) and the
// email, inventory, payment and analytics services reacting to its events,
// written with the Go SDK (sdk/pubsub, sdk/eventstore). See
// docs/tutorial.md.
//
//	go run ./examples/ecommerce                      # run every service, print a live summary
//	go run ./examples/ecommerce --orders 50 --rate 20 # place 50 orders, wait until settled, check
//
// With --orders it places N orders (every fifth over 1,000, one paid with
// a card that always fails, one submitted twice), waits until every
// service has settled them — redriving the dead-lettered payment with
// `eddy dlq redrive` after fixing the card — prints the final state and
// exits with status 1 if an invariant does not hold.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/eddy-streaming/eddy/sdk/eventstore"
	"github.com/eddy-streaming/eddy/sdk/pubsub"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ecommerce:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

type options struct {
	brokers  []string
	httpURL  string
	registry string
	listen   string
	orders   int
	rate     float64
	inflight int
	eddy     string
	timeout  time.Duration
	verbose  bool
	cpuprof  string
}

func parseFlags(args []string, out io.Writer) (options, error) {
	fs := flag.NewFlagSet("ecommerce", flag.ContinueOnError)
	fs.SetOutput(out)
	var o options
	brokers := fs.String("brokers", "localhost:9092", "Eddy's Kafka listener(s), comma-separated")
	fs.StringVar(&o.httpURL, "http", "http://localhost:8080", "Eddy's HTTP API (event store)")
	fs.StringVar(&o.registry, "registry", "http://localhost:8081", "the schema registry the events' JSON schemas are registered with")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8090", "address of the order service's HTTP endpoint")
	fs.IntVar(&o.orders, "orders", 0, "place this many orders, wait until settled, check the invariants and exit")
	fs.Float64Var(&o.rate, "rate", 0, "orders per second with --orders (0: as fast as possible)")
	fs.IntVar(&o.inflight, "inflight", 8, "with --orders: orders being placed at the same time, at most")
	fs.StringVar(&o.eddy, "eddy", "eddy", "the eddy binary, for `eddy dlq redrive`")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "with --orders: how long to wait for the system to settle")
	fs.BoolVar(&o.verbose, "v", false, "log every event")
	fs.StringVar(&o.cpuprof, "cpuprofile", "", "write the process's CPU profile (go tool pprof) to this file; with --orders from the first order placed until every order went through all services")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	o.brokers = strings.Split(*brokers, ",")
	if o.orders < 0 || o.rate < 0 {
		return o, fmt.Errorf("%w: --orders and --rate must not be negative", errUsage)
	}
	if o.inflight < 1 {
		return o, fmt.Errorf("%w: --inflight must be at least 1", errUsage)
	}
	if o.orders > 0 && o.orders < 3 {
		return o, fmt.Errorf("%w: --orders needs at least 3 orders (a poison payment and a duplicate among them)", errUsage)
	}
	return o, nil
}

// system is every service of the example, running in one process.
type system struct {
	o         options
	log       *slog.Logger
	store     *eventstore.Client
	pub       *pubsub.Publisher
	schemas   *pubsub.Schemas
	orders    *orderService
	email     *emailService
	inventory *inventoryService
	payment   *paymentService
	analytics *analytics
	orderURL  string
	// client places the orders: it keeps a keep-alive connection per
	// order in flight (http.DefaultClient keeps two, and would dial anew
	// for most orders).
	client *http.Client
}

// poisonCard always fails until the payment service "fixes" it.
const poisonCard = "4000-0000-0000-0002"

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	if o.cpuprof != "" && o.orders == 0 {
		stop, err := startCPUProfile(o.cpuprof)
		if err != nil {
			return err
		}
		defer stop()
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// One connection per request in flight at once: the inventory's
	// lookups and the payments' appends (keyConcurrency orders of each of
	// the 3 partitions each) and the orders being placed.
	store, err := eventstore.New(o.httpURL, eventstore.MaxIdleConns(2*3*keyConcurrency+o.inflight))
	if err != nil {
		return err
	}
	reg, err := sr.NewClient(sr.URLs(o.registry))
	if err != nil {
		return fmt.Errorf("schema registry client: %w", err)
	}
	schemas := pubsub.NewSchemas(reg)
	pub, err := pubsub.NewPublisher(o.brokers)
	if err != nil {
		return err
	}
	defer pub.Close()
	pub.WithSchemas(schemas)
	if err := setup(ctx, pub); err != nil {
		return err
	}
	if err := registerSchemas(ctx, pub.Client(), schemas, out); err != nil {
		return err
	}
	s := &system{o: o, log: log, store: store, pub: pub, schemas: schemas,
		email:     &emailService{sent: newCounts(), vip: newCounts(), currency: map[string]string{}},
		analytics: newAnalytics(),
	}
	s.orders = newOrderService(store, pub)
	s.inventory = &inventoryService{pub: pub, store: store, stock: map[string]int{"book": 1 << 30, "pen": 1 << 30}, reserved: newCounts()}
	s.payment = &paymentService{orders: s.orders, failing: map[string]bool{poisonCard: true}, captured: newCounts()}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("order service: %w", err)
	}
	s.orderURL = "http://" + ln.Addr().String()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = o.inflight
	s.client = &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	srv := &http.Server{Handler: s.orders.handler(), ReadHeaderTimeout: 10 * time.Second}

	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	goRun := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(sctx); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	for _, r := range s.email.routers(o.brokers, schemas, log) {
		goRun("email", r.Run)
	}
	goRun("inventory", s.inventory.router(o.brokers, groupInventory, log).Run)
	goRun("payment", s.payment.router(o.brokers, pub, schemas, log).Run)
	goRun("analytics", func(ctx context.Context) error { return s.analytics.run(ctx, o.brokers) })
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(out, "order service on %s (POST /orders, GET /orders/{id})\n", s.orderURL)

	var runErr error
	if o.orders > 0 {
		runErr = s.scenario(sctx, out)
	} else {
		s.live(sctx, out)
	}
	cancel()
	shut, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = srv.Shutdown(shut)
	scancel()
	wg.Wait()
	close(errs)
	for e := range errs {
		runErr = errors.Join(runErr, e)
	}
	return runErr
}

// startCPUProfile writes the CPU profile to file until stop is called.
func startCPUProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// setup creates the topics, the VIP view, the dead-letter topic and the
// payment share group's configuration; what exists already is kept.
func setup(ctx context.Context, pub *pubsub.Publisher) error {
	cl := pub.Client()
	// orders and processed are event-store topics: indexed by stream,
	// kept forever.
	streams := map[string]string{"eddy.streams": "true", "retention.ms": "-1", "retention.bytes": "-1"}
	for _, t := range []string{topicOrders, topicPayments, topicInventory, topicProcessed} {
		var cfg map[string]string
		if t == topicOrders || t == topicProcessed {
			cfg = streams
		}
		if err := pubsub.CreateTopic(ctx, cl, t, 3, cfg); err != nil {
			return err
		}
	}
	if err := pubsub.CreateDLQTopic(ctx, cl, dlqPayments, 1); err != nil {
		return err
	}
	if err := pubsub.CreateView(ctx, cl, viewVIP, topicOrders, vipFilter); err != nil {
		return err
	}
	return pubsub.ConfigureShareGroup(ctx, cl, groupPayment, pubsub.ShareGroupConfig{
		AutoOffsetReset: "earliest", DeliveryLimit: 5, DLQTopic: dlqPayments,
		RetryBackoff: 200 * time.Millisecond, RetryBackoffMax: 5 * time.Second,
	})
}

// live prints a summary every second until ctx ends.
func (s *system) live(ctx context.Context, out io.Writer) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fmt.Fprintln(out, s.summary())
		}
	}
}

func (s *system) summary() string {
	sum, n, hours := s.analytics.totals()
	return fmt.Sprintf("emailed %d · vip %d · reserved %d · paid %d · analytics %d orders, %.2f over %d hour(s)",
		s.email.sent.len(), s.email.vip.len(), s.inventory.reserved.len(), s.payment.captured.len(), n, sum, hours)
}
