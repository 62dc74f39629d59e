package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/sdk/eventstore"
	"github.com/eddy-streaming/eddy/sdk/pubsub"
)

// counts is a set of per-order counters shared with the summary.
type counts struct {
	mu sync.Mutex
	m  map[string]int
}

func newCounts() *counts { return &counts{m: map[string]int{}} }

func (c *counts) add(id string) {
	c.mu.Lock()
	c.m[id]++
	c.mu.Unlock()
}

func (c *counts) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

func (c *counts) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// emailService sends an order confirmation for every OrderCreated (classic
// group on orders) and a VIP note for the orders of the view orders.vip
// (content-based routing in the broker).
//
// The confirmation is a version 2 consumer (it shows the currency, EUR for
// version 1 events); the VIP note is still a version 1 consumer
// (OrderCreatedV1): both handle events of both versions.
type emailService struct {
	sent, vip *counts
	mu        sync.Mutex
	currency  map[string]string // order id → the currency the confirmation showed
	latency   []time.Duration   // from each OrderCreated's append (ce_time) to its confirmation
}

// latencies returns the order-to-email latencies, sorted.
func (s *emailService) latencies() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.latency)
	slices.Sort(out)
	return out
}

func (s *emailService) routers(brokers []string, schemas *pubsub.Schemas, log *slog.Logger) []*pubsub.Router {
	mw := []pubsub.Middleware{pubsub.Logging(log), pubsub.Retry(pubsub.RetryPolicy{}), pubsub.Recoverer()}
	r := pubsub.NewRouter(brokers, groupEmail, pubsub.WithLogger(log), pubsub.WithSchemas(schemas), pubsub.CommitInterval(commitInterval))
	r.Use(mw...)
	// Order-to-email latency: from the append of OrderCreated (its
	// ce_time, set by the event store) to the confirmation's handler.
	measure := func(next pubsub.HandlerFunc) pubsub.HandlerFunc {
		return func(ctx context.Context, ev *pubsub.Event) error {
			err := next(ctx, ev)
			if err == nil {
				d := time.Since(ev.Time)
				s.mu.Lock()
				s.latency = append(s.latency, d)
				s.mu.Unlock()
			}
			return err
		}
	}
	r.Handle(topicOrders, typeOrderCreated, func(ctx context.Context, o OrderCreated) error {
		cur := o.Currency
		if cur == "" {
			cur = "EUR" // a version 1 event
		}
		s.mu.Lock()
		s.currency[o.OrderID] = cur
		s.mu.Unlock()
		s.sent.add(o.OrderID) // stands for sending "thank you for order …, o.Total cur" to o.CustomerID
		return nil
	}, measure)
	vip := pubsub.NewRouter(brokers, groupVIP, pubsub.WithLogger(log), pubsub.WithSchemas(schemas), pubsub.CommitInterval(commitInterval))
	vip.Use(mw...)
	vip.Handle(viewVIP, typeOrderCreated, func(ctx context.Context, o OrderCreatedV1) error {
		s.vip.add(o.OrderID)
		return nil
	})
	return []*pubsub.Router{r, vip}
}

// inventoryService reserves stock for each order and reports it on the
// inventory topic; the idempotent consumer makes a replay (or a duplicate
// delivery) change nothing.
type inventoryService struct {
	pub      *pubsub.Publisher
	store    *eventstore.Client
	mu       sync.Mutex
	stock    map[string]int
	reserved *counts
}

// router returns the inventory consumer of group; outer middleware goes
// outside all others. It is a version 1 consumer of OrderCreated
// (OrderCreatedV1): it needs no currency.
func (s *inventoryService) router(brokers []string, group string, log *slog.Logger, outer ...pubsub.Middleware) *pubsub.Router {
	r := pubsub.NewRouter(brokers, group, pubsub.WithLogger(log), pubsub.KeyConcurrency(keyConcurrency),
		pubsub.CommitInterval(commitInterval))
	r.Use(outer...)
	r.Use(pubsub.Logging(log), pubsub.Retry(pubsub.RetryPolicy{}),
		pubsub.Idempotent(s.store, topicProcessed, "inventory", 100_000, pubsub.MarkThrough(s.pub)), pubsub.Recoverer())
	r.Handle(topicOrders, typeOrderCreated, func(ctx context.Context, o OrderCreatedV1) error {
		s.mu.Lock()
		short := ""
		for _, it := range o.Items {
			if s.stock[it.SKU] < it.Qty {
				short = it.SKU
			}
		}
		if short == "" {
			for _, it := range o.Items {
				s.stock[it.SKU] -= it.Qty
			}
		}
		s.mu.Unlock()
		msg := pubsub.Message{Topic: topicInventory, Key: o.OrderID, Type: typeInventoryReserved, Data: InventoryReserved{OrderID: o.OrderID, Items: o.Items}}
		if short != "" {
			msg = pubsub.Message{Topic: topicInventory, Key: o.OrderID, Type: typeOutOfStock, Data: OutOfStock{OrderID: o.OrderID, SKU: short}}
		}
		if err := s.pub.Publish(ctx, msg); err != nil {
			return err
		}
		s.reserved.add(o.OrderID)
		return nil
	})
	return r
}

// paymentService charges cards, as a share group on payments: quick
// in-process retries with backoff, then a rejection that the broker writes
// to dlq.payments. A card in failing is declined until fixed.
type paymentService struct {
	orders   *orderService
	mu       sync.Mutex
	failing  map[string]bool
	captured *counts
}

// fix makes card work from now on.
func (s *paymentService) fix(card string) {
	s.mu.Lock()
	delete(s.failing, card)
	s.mu.Unlock()
}

func (s *paymentService) router(brokers []string, pub *pubsub.Publisher, schemas *pubsub.Schemas, log *slog.Logger) *pubsub.Router {
	r := pubsub.NewRouter(brokers, groupPayment, pubsub.ShareGroup(), pubsub.WithLogger(log), pubsub.WithSchemas(schemas),
		pubsub.KeyConcurrency(keyConcurrency), pubsub.ClientOpts(kgo.FetchMaxWait(200*time.Millisecond)))
	r.Use(pubsub.Logging(log), pubsub.DeadLetter(pub),
		pubsub.Retry(pubsub.RetryPolicy{MaxAttempts: 3, Initial: 20 * time.Millisecond}),
		pubsub.Timeout(10*time.Second), pubsub.Recoverer())
	r.Handle(topicPayments, typePaymentRequested, func(ctx context.Context, p PaymentRequested) error {
		s.mu.Lock()
		declined := s.failing[p.Card]
		s.mu.Unlock()
		if declined {
			return fmt.Errorf("card %s declined for order %s", p.Card, p.OrderID)
		}
		if err := s.orders.pay(ctx, p.OrderID, p.Amount, "pay-"+p.OrderID); err != nil {
			return fmt.Errorf("record payment of %s: %w", p.OrderID, err)
		}
		s.captured.add(p.OrderID)
		return nil
	})
	return r
}

// analytics replays orders from the beginning into order totals per hour.
// It reads the partitions directly (no group, nothing committed), so a
// reset rebuilds everything from the log.
type analytics struct {
	mu     sync.Mutex
	hourly map[time.Time]float64
	count  int
	seen   map[string]bool
	// byOrder is each order's total, for the checks.
	byOrder map[string]float64
	// restart cancels the current pass over the log.
	restart context.CancelFunc
}

func newAnalytics() *analytics {
	return &analytics{hourly: map[time.Time]float64{}, seen: map[string]bool{}, byOrder: map[string]float64{}}
}

func (a *analytics) totals() (sum float64, count int, hours int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, v := range a.hourly {
		sum += v
	}
	return sum, a.count, len(a.hourly)
}

// run consumes orders from the start until ctx ends; rebuild makes it
// start over.
func (a *analytics) run(ctx context.Context, brokers []string) error {
	for ctx.Err() == nil {
		pctx, cancel := context.WithCancel(ctx)
		a.mu.Lock()
		a.restart = cancel
		a.mu.Unlock()
		err := a.consume(pctx, brokers)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// rebuild forgets every total and replays the log from the start.
func (a *analytics) rebuild() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hourly, a.count, a.seen, a.byOrder = map[time.Time]float64{}, 0, map[string]bool{}, map[string]float64{}
	if a.restart != nil {
		a.restart()
	}
}

func (a *analytics) consume(ctx context.Context, brokers []string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topicOrders),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		return fmt.Errorf("analytics: %w", err)
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		for _, fe := range fs.Errors() {
			if !errors.Is(fe.Err, context.Canceled) {
				slog.Warn("analytics fetch", "err", fe.Err)
			}
		}
		fs.EachRecord(func(r *kgo.Record) {
			var typ, id string
			for _, h := range r.Headers {
				switch h.Key {
				case pubsub.HeaderType:
					typ = string(h.Value)
				case pubsub.HeaderID:
					id = string(h.Value)
				}
			}
			if typ != typeOrderCreated {
				return
			}
			var o OrderCreated
			if json.Unmarshal(r.Value, &o) != nil {
				return
			}
			a.mu.Lock()
			if !a.seen[id] {
				a.seen[id] = true
				a.hourly[r.Timestamp.UTC().Truncate(time.Hour)] += o.Total
				a.count++
				a.byOrder[o.OrderID] += o.Total
			}
			a.mu.Unlock()
		})
	}
}

// has reports whether every order of ids was counted.
func (a *analytics) has(ids []string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range ids {
		if _, ok := a.byOrder[id]; !ok {
			return false
		}
	}
	return true
}

// sum is the total of the given orders.
func (a *analytics) sum(orders []placed) float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	var s float64
	for _, p := range orders {
		s += a.byOrder[p.id]
	}
	return s
}

func (a *analytics) hourlyTotals() map[time.Time]float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[time.Time]float64, len(a.hourly))
	for k, v := range a.hourly {
		out[k] = v
	}
	return out
}
