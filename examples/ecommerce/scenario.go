package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/sdk/eventstore"
	"github.com/eddy-streaming/eddy/sdk/pubsub"
)

// placed is one order the scenario placed.
type placed struct {
	id       string
	total    float64
	card     string
	currency string // "" for the OrderCreated v1 orders
}

// scenario places the orders, waits until the system settled them, and
// checks the invariants.
func (s *system) scenario(ctx context.Context, out io.Writer) error {
	start := time.Now()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	run := hex.EncodeToString(rnd[:])
	orders := make([]placed, s.o.orders)
	for i := range orders {
		p := placed{id: fmt.Sprintf("order-%s-%d", run, i), total: float64(20 + (i*37)%900), card: "4242-4242-4242-4242"}
		if i%5 == 4 {
			p.total = 1000.5 + float64(i*10)
		}
		if i == 1 {
			p.card = poisonCard
		}
		orders[i] = p
	}
	poison := orders[1].id
	half := len(orders) / 2
	for i := half; i < len(orders); i++ {
		orders[i].currency = "USD"
	}

	// 0. Wait until the consumer groups have their members, so that the
	//    order-to-email latency measures the system, not its start.
	adm := kadm.NewClient(s.pub.Client())
	jctx, jcancel := context.WithTimeout(ctx, s.o.timeout)
	defer jcancel()
	err := waitUntil(jctx, "the consumer groups to be joined", func() bool {
		gs, err := adm.DescribeGroups(jctx, groupEmail, groupVIP, groupInventory)
		if err != nil {
			return false
		}
		for _, g := range gs {
			if g.Err != nil || g.State != "Stable" || len(g.Members) == 0 {
				return false
			}
		}
		return len(gs) == 3
	})
	if err != nil {
		return err
	}

	// 1. Place the first half of the orders as OrderCreated v1 (no
	//    currency), evolve OrderCreated to v2, place the second half
	//    with a currency (and one order twice).
	stopProfile := func() {}
	if s.o.cpuprof != "" {
		if stopProfile, err = startCPUProfile(s.o.cpuprof); err != nil {
			return err
		}
		defer func() { stopProfile() }() // a second stop does nothing
	}
	t0, cpu0 := time.Now(), processCPU()
	srv0, srvOK := s.serverCPU(ctx)
	if err := s.placeAll(ctx, orders[:half], 0); err != nil {
		return err
	}
	placing := time.Since(t0)
	if err := evolveOrderCreated(ctx, s.schemas.Client(), out); err != nil {
		return err
	}
	t1 := time.Now()
	if err := s.placeAll(ctx, orders[half:], half); err != nil {
		return err
	}
	placing += time.Since(t1)
	dupStatus, err := s.post(ctx, orders[0], 1)
	if err != nil {
		return err
	}
	if err := s.appendInvalid(ctx, run, out); err != nil {
		return err
	}
	fmt.Fprintf(out, "placed %d orders in %v (%.0f orders/s); duplicate submission of %s answered %d\n",
		len(orders), placing.Round(time.Millisecond), float64(len(orders))/placing.Seconds(), orders[0].id, dupStatus)

	deadline, cancel := context.WithTimeout(ctx, s.o.timeout)
	defer cancel()
	ids := make([]string, len(orders))
	var vipIDs []string
	for i, p := range orders {
		ids[i] = p.id
		if p.total > 1000 {
			vipIDs = append(vipIDs, p.id)
		}
	}
	// 2. Wait until emailed, reserved, and paid but for the poison order,
	//    which must reach the dead-letter topic.
	err = waitUntil(deadline, "every order emailed, reserved and paid (but the poison one)", func() bool {
		return hasAll(s.email.sent, ids) && hasAll(s.email.vip, vipIDs) && hasAll(s.inventory.reserved, ids) &&
			hasAll(s.payment.captured, without(ids, poison))
	})
	if err != nil {
		return fmt.Errorf("%w; %s", err, s.summary())
	}
	through, cpu := time.Since(t0), processCPU()-cpu0
	stopProfile()
	perOrder := func(d time.Duration) string {
		return fmt.Sprintf("%v (%.2f ms per order)", d.Round(time.Millisecond), float64(d.Microseconds())/1000/float64(len(orders)))
	}
	fmt.Fprintf(out, "every order through all services %v after the first was placed (%.0f orders/s end to end)\n",
		through.Round(time.Millisecond), float64(len(orders))/through.Seconds())
	cpuLine := "CPU meanwhile: this process " + perOrder(cpu)
	if srv1, ok := s.serverCPU(ctx); ok && srvOK {
		cpuLine += ", the server " + perOrder(srv1-srv0)
	}
	fmt.Fprintln(out, cpuLine)
	var dead []*kgo.Record
	err = waitUntil(deadline, "the poison payment in "+dlqPayments, func() bool {
		rs, err := readTopic(deadline, s.pub.Client(), dlqPayments)
		dead = slices.DeleteFunc(rs, func(r *kgo.Record) bool { return string(r.Key) != poison })
		return err == nil && len(dead) > 0
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "dead-lettered: %s (from %s, reason %s, delivery count %s)\n", poison, header(dead[0], pubsub.HeaderDLQTopic),
		header(dead[0], pubsub.HeaderDLQReason), header(dead[0], pubsub.HeaderDLQDeliveryCount))

	// 3. Fix the card and redrive the dead letter.
	s.payment.fix(poisonCard)
	cmd := exec.CommandContext(deadline, s.o.eddy, "dlq", "redrive", dlqPayments, "--brokers", strings.Join(s.o.brokers, ","))
	if outb, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("eddy dlq redrive: %w: %s", err, outb)
	} else {
		fmt.Fprintf(out, "eddy dlq redrive %s: %s\n", dlqPayments, strings.TrimSpace(string(outb)))
	}
	if err := waitUntil(deadline, "the redriven payment", func() bool { return hasAll(s.payment.captured, []string{poison}) }); err != nil {
		return err
	}

	// 4. Replay orders through a second inventory consumer: the
	//    idempotent consumer must reserve nothing again.
	var replayed atomic.Int32
	inRun := map[string]bool{}
	for _, id := range ids {
		inRun[id] = true
	}
	rr := s.inventory.router(s.o.brokers, groupInventory+"-replay-"+run, s.log, func(next pubsub.HandlerFunc) pubsub.HandlerFunc {
		return func(ctx context.Context, ev *pubsub.Event) error {
			err := next(ctx, ev)
			if err == nil && inRun[string(ev.Key)] && ev.Type == typeOrderCreated {
				replayed.Add(1)
			}
			return err
		}
	})
	rctx, rcancel := context.WithCancel(deadline)
	var rwg sync.WaitGroup
	rwg.Add(1)
	var rerr error
	go func() { defer rwg.Done(); rerr = rr.Run(rctx) }()
	err = waitUntil(deadline, "the inventory replay", func() bool { return int(replayed.Load()) >= len(ids) })
	rcancel()
	rwg.Wait()
	if err != nil || rerr != nil {
		return errors.Join(err, rerr)
	}

	// 5. Rebuild analytics from the log.
	s.analytics.rebuild()
	if err := waitUntil(deadline, "analytics rebuilt", func() bool { return s.analytics.has(ids) }); err != nil {
		return err
	}
	settled := time.Since(start)

	// 6. Check.
	problems := s.check(deadline, orders, dupStatus)
	s.printFinal(out, orders, settled)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(out, "INVARIANT FAILED:", p)
		}
		return fmt.Errorf("%d invariant(s) failed", len(problems))
	}
	fmt.Fprintln(out, "all invariants hold")
	return nil
}

// appendInvalid appends an OrderCreated whose data does not conform to its
// schema (a negative total, an unknown field) and checks the broker refuses
// it with 400 naming the subject.
func (s *system) appendInvalid(ctx context.Context, run string, out io.Writer) error {
	ev, err := eventstore.NewEvent(typeOrderCreated, map[string]any{"orderId": "bad-" + run, "customerId": "c", "total": -5, "coupon": "FREE"})
	if err != nil {
		return err
	}
	_, err = s.store.Append(ctx, topicOrders, "bad-"+run, eventstore.NoStream{}, ev)
	var apiErr *eventstore.APIError
	sub := subject(topicOrders, typeOrderCreated)
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !strings.Contains(apiErr.Message, sub) {
		return fmt.Errorf("an OrderCreated with invalid data was not refused with 400 naming %s: %v", sub, err)
	}
	fmt.Fprintf(out, "invalid OrderCreated refused: %d %s\n", apiErr.Status, apiErr.Message)
	return nil
}

// placeAll posts the orders (first the index of orders[0] among all), at
// o.rate per second, at most o.inflight at a time. The rate is a schedule,
// not a ticker: order i is due at i/rate after the first, and an order
// that is late (the machine was busy) is sent at once, so a busy moment
// does not lower the rate offered afterwards (a ticker drops the ticks its
// reader missed).
func (s *system) placeAll(ctx context.Context, orders []placed, first int) error {
	start := time.Now()
	due := func(i int) time.Duration {
		if s.o.rate <= 0 {
			return 0
		}
		return time.Duration(float64(i) / s.o.rate * float64(time.Second))
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	sem := make(chan struct{}, s.o.inflight)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i, p := range orders {
		if wait := due(i) - time.Since(start); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			st, err := s.post(ctx, p, first+i)
			if err == nil && st != http.StatusCreated {
				err = fmt.Errorf("place %s: status %d", p.id, st)
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *system) post(ctx context.Context, p placed, i int) (int, error) {
	body, _ := json.Marshal(PlaceOrder{OrderID: p.id, CustomerID: fmt.Sprintf("customer-%d", i%7), Total: p.total, Currency: p.currency, Card: p.card,
		Items: []Item{{SKU: "book", Qty: 1 + i%3}, {SKU: "pen", Qty: 1}}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.orderURL+"/orders", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("place %s: %w", p.id, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusConflict {
		return resp.StatusCode, fmt.Errorf("place %s: %d %s", p.id, resp.StatusCode, msg)
	}
	return resp.StatusCode, nil
}

// check verifies the invariants of the run's orders and returns what
// failed.
func (s *system) check(ctx context.Context, orders []placed, dupStatus int) []string {
	var bad []string
	fail := func(f string, a ...any) { bad = append(bad, fmt.Sprintf(f, a...)) }
	if dupStatus != http.StatusConflict {
		fail("duplicate submission answered %d, want 409", dupStatus)
	}
	sent, vip, captured := s.email.sent.snapshot(), s.email.vip.snapshot(), s.payment.captured.snapshot()
	inv, err := readTopic(ctx, s.pub.Client(), topicInventory)
	if err != nil {
		fail("read %s: %v", topicInventory, err)
	}
	reserved := map[string]int{}
	for _, r := range inv {
		if len(r.Value) < 5 || r.Value[0] != 0 {
			fail("%s record %d/%d is not in the schema registry's wire format", topicInventory, r.Partition, r.Offset)
		}
		if header(r, pubsub.HeaderType) == typeInventoryReserved {
			reserved[string(r.Key)]++
		}
	}
	s.email.mu.Lock()
	currency := maps.Clone(s.email.currency)
	s.email.mu.Unlock()
	var placedSum float64
	for _, p := range orders {
		placedSum += p.total
		if sent[p.id] != 1 {
			fail("order %s emailed %d times, want 1", p.id, sent[p.id])
		}
		if want := cmp.Or(p.currency, "EUR"); currency[p.id] != want {
			fail("order %s: the v2 email consumer read currency %q, want %q", p.id, currency[p.id], want)
		}
		if want := p.total > 1000; (vip[p.id] == 1) != want || vip[p.id] > 1 {
			fail("order %s (total %.2f) got %d VIP emails", p.id, p.total, vip[p.id])
		}
		if reserved[p.id] != 1 {
			fail("order %s reserved %d times in %s, want 1", p.id, reserved[p.id], topicInventory)
		}
		if captured[p.id] < 1 {
			fail("order %s not paid", p.id)
		}
		evs, _, err := s.store.ReadAll(ctx, topicOrders, p.id, 0)
		if err != nil {
			fail("read stream %s: %v", p.id, err)
			continue
		}
		var types []string
		for i, ev := range evs {
			types = append(types, ev.Type)
			if ev.Version != int64(i) {
				fail("stream %s: event %d has version %d", p.id, i, ev.Version)
			}
		}
		if !slices.Equal(types, []string{typeOrderCreated, typeOrderPaid}) {
			fail("stream %s has %v, want [OrderCreated OrderPaid]", p.id, types)
		}
	}
	if sum := s.analytics.sum(orders); sum != placedSum {
		fail("analytics total of the run's orders %.2f, placed %.2f", sum, placedSum)
	}
	return bad
}

func (s *system) printFinal(out io.Writer, orders []placed, took time.Duration) {
	var vip []string
	for _, p := range orders {
		if p.total > 1000 {
			vip = append(vip, p.id)
		}
	}
	fmt.Fprintf(out, "\nfinal state after %v:\n", took.Round(time.Millisecond))
	fmt.Fprintf(out, "  orders placed      %d (+1 duplicate refused)\n", len(orders))
	more, nvip := "", len(vip)
	if len(vip) > 5 {
		vip, more = vip[:5], ", …"
	}
	fmt.Fprintf(out, "  VIP orders         %d (%s%s)\n", nvip, strings.Join(vip, ", "), more)
	fmt.Fprintf(out, "  %s\n", s.summary())
	v2 := 0
	for _, p := range orders {
		if p.currency != "" {
			v2++
		}
	}
	if lat := s.email.latencies(); len(lat) > 0 {
		q := func(p float64) time.Duration {
			return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(100 * time.Microsecond)
		}
		fmt.Fprintf(out, "  order-to-email     p50 %v · p99 %v · max %v (%d emails; from the append of OrderCreated to its handler)\n",
			q(0.5), q(0.99), lat[len(lat)-1].Round(100*time.Microsecond), len(lat))
	}
	fmt.Fprintf(out, "  OrderCreated       %d v1 + %d v2 events, read by the v2 consumer (email) and the v1 consumers (inventory, VIP email)\n", len(orders)-v2, v2)
	sum, _, _ := s.analytics.totals()
	hourly := s.analytics.hourlyTotals()
	keys := make([]time.Time, 0, len(hourly))
	for k := range hourly {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Before(keys[j]) })
	for _, k := range keys {
		fmt.Fprintf(out, "  analytics %s  %.2f\n", k.Format("2006-01-02 15:04"), hourly[k])
	}
	fmt.Fprintf(out, "  analytics total    %.2f\n", sum)
}

// waitUntil polls cond every 50 ms until it holds or ctx ends.
func waitUntil(ctx context.Context, what string, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// hasAll reports whether c counted every id of ids; it looks at the
// counters in place, without copying them (the wait loops call it often).
func hasAll(c *counts, ids []string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) < len(ids) {
		return false
	}
	for _, id := range ids {
		if c.m[id] == 0 {
			return false
		}
	}
	return true
}

// serverCPU is the server's process_cpu_seconds_total (its /metrics), if
// it can be read.
func (s *system) serverCPU(ctx context.Context) (time.Duration, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(s.o.httpURL, "/")+"/metrics", nil)
	if err != nil {
		return 0, false
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, false
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, "process_cpu_seconds_total "); ok {
			sec, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return time.Duration(sec * float64(time.Second)), err == nil
		}
	}
	return 0, false
}

func without(ids []string, id string) []string {
	return slices.DeleteFunc(slices.Clone(ids), func(s string) bool { return s == id })
}

func header(r *kgo.Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

// readTopic reads every record of topic up to its current end.
func readTopic(ctx context.Context, admin *kgo.Client, topic string) ([]*kgo.Record, error) {
	ends, err := kadm.NewClient(admin).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	if len(want) == 0 {
		return nil, nil
	}
	parts := map[int32]kgo.Offset{}
	for p := range want {
		parts[p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(admin.OptValue(kgo.SeedBrokers).([]string)...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var out []*kgo.Record
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, r)
			if r.Offset+1 >= want[r.Partition] {
				delete(want, r.Partition)
			}
		})
	}
	return out, nil
}
