package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/eddy-streaming/eddy/internal/eddytest"
	"github.com/eddy-streaming/eddy/internal/schema"
)

// TestSchemaRegistrySurvivesKill registers schemas from several clients
// against a real `eddy serve`, kills it with SIGKILL while registrations are
// in flight, and checks that every acknowledged registration is there after
// the restart, with its id, and that new ids do not reuse old ones.
func TestSchemaRegistrySurvivesKill(t *testing.T) {
	ctx := context.Background()
	p := eddytest.Start(t)
	dir := p.DataDir()
	cl, err := sr.NewClient(sr.URLs(p.SchemaRegistryURL()))
	if err != nil {
		t.Fatal(err)
	}
	// The same API under /schema-registry/ on the main HTTP listener.
	viaHTTP, err := sr.NewClient(sr.URLs(p.HTTPURL() + "/schema-registry"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := viaHTTP.CreateSchema(ctx, "orders-value", sr.Schema{Schema: `{"type":"record","name":"OrderCreated","fields":[{"name":"id","type":"string"}]}`})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := cl.SchemaByID(ctx, first.ID); err != nil || !strings.Contains(got.Schema, "OrderCreated") {
		t.Fatalf("both listeners serve one registry: %+v %v", got, err)
	}

	type acked struct {
		subject string
		id      int
	}
	var (
		mu   sync.Mutex
		acks []acked
		wg   sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				subject := fmt.Sprintf("w%d-%d-value", w, i)
				rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				id, err := cl.RegisterSchema(rctx, subject, sr.Schema{Schema: fmt.Sprintf(`{"type":"enum","name":"E%d_%d","symbols":["A"]}`, w, i)}, -1, -1)
				cancel()
				if err != nil {
					return // the server is gone
				}
				mu.Lock()
				acks = append(acks, acked{subject, id})
				mu.Unlock()
			}
		}(w)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 40 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.Kill()
	close(stop)
	wg.Wait()
	if len(acks) == 0 {
		t.Fatal("no registration was acknowledged before the kill")
	}

	p2 := eddytest.Start(t, eddytest.DataDir(dir))
	cl2, err := sr.NewClient(sr.URLs(p2.SchemaRegistryURL()))
	if err != nil {
		t.Fatal(err)
	}
	maxID := first.ID
	for _, a := range acks {
		s, err := cl2.SchemaByVersion(ctx, a.subject, -1)
		if err != nil || s.ID != a.id {
			t.Fatalf("acknowledged %s id %d lost after kill -9: %+v %v", a.subject, a.id, s, err)
		}
		maxID = max(maxID, a.id)
	}
	fresh, err := cl2.CreateSchema(ctx, "after-crash-value", sr.Schema{Schema: `"bytes"`})
	if err != nil || fresh.ID <= maxID {
		t.Fatalf("a new schema after restart must get an id above %d: %+v %v", maxID, fresh, err)
	}
	t.Logf("%d acknowledged registrations survived kill -9", len(acks))

	resp, err := http.Get(p2.HTTPURL() + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "schema_registry") {
		t.Errorf("/v1/status does not list the schema registry listener: %s", body)
	}
}

// TestSchemaValidationInBroker creates topics with Confluent's validation
// configs through Kafka's admin API and produces to them with franz-go
// through its sr.Serde: conforming records are written; a record without
// the magic byte, with an unknown id, with another subject's id or (full)
// with a payload that does not decode refuses its whole batch with
// INVALID_RECORD, and nothing of that batch is written.
func TestSchemaValidationInBroker(t *testing.T) {
	ctx := context.Background()
	p := eddytest.Start(t)
	srcl, err := sr.NewClient(sr.URLs(p.SchemaRegistryURL()))
	if err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, p)
	adm := kadm.NewClient(cl)
	v := func(s string) *string { return &s }
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{
		"confluent.value.schema.validation": v("true"),
		"eddy.value.schema.validation":      v("full"),
	}, "orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"confluent.value.schema.validation": v("true")}, "ids-only"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"confluent.value.schema.validation": v("sometimes")}, "bad-config"); err == nil {
		t.Fatal("a nonsense validation value was accepted")
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	described := map[string]string{}
	for _, c := range rcs[0].Configs {
		described[c.Key] = c.MaybeValue()
	}
	if described["confluent.value.schema.validation"] != "true" || described["eddy.value.schema.validation"] != "full" ||
		!strings.HasSuffix(described["confluent.value.subject.name.strategy"], "TopicNameStrategy") {
		t.Fatalf("described configs: %v", described)
	}

	const order = `{"type":"record","name":"OrderCreated","fields":[{"name":"id","type":"string"},{"name":"amount","type":"long"}]}`
	ss, err := srcl.CreateSchema(ctx, "orders-value", sr.Schema{Schema: order})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srcl.CreateSchema(ctx, "ids-only-value", sr.Schema{Schema: order}); err != nil {
		t.Fatal(err)
	}
	other, err := srcl.CreateSchema(ctx, "elsewhere-value", sr.Schema{Schema: `"string"`})
	if err != nil {
		t.Fatal(err)
	}
	type orderCreated struct {
		ID     string `avro:"id"`
		Amount int64  `avro:"amount"`
	}
	avroSchema := avro.MustParse(order)
	var serde sr.Serde
	serde.Register(ss.ID, orderCreated{}, sr.EncodeFn(func(v any) ([]byte, error) { return avro.Marshal(avroSchema, v) }))
	good, err := serde.Encode(orderCreated{ID: "o-1", Amount: 100})
	if err != nil {
		t.Fatal(err)
	}
	produce := func(topic string, values ...[]byte) error {
		var recs []*kgo.Record
		for _, v := range values {
			recs = append(recs, &kgo.Record{Topic: topic, Value: v})
		}
		return cl.ProduceSync(ctx, recs...).FirstErr()
	}
	if err := produce("orders", good, good); err != nil {
		t.Fatalf("conforming records refused: %v", err)
	}
	for _, tc := range []struct {
		name  string
		topic string
		value []byte
	}{
		{"no magic byte", "orders", []byte(`{"id":"o-2","amount":1}`)},
		{"unknown id", "orders", append(schema.AppendWire(nil, 4242), good[5:]...)},
		{"id of another subject", "orders", append(schema.AppendWire(nil, int32(other.ID)), good[5:]...)},
		{"payload does not decode", "orders", append(schema.AppendWire(nil, int32(ss.ID)), 0x02, 'x')},
		{"no magic byte, id-only topic", "ids-only", []byte("plain")},
	} {
		err := produce(tc.topic, good, tc.value) // one batch: a good record, then the bad one
		if !errors.Is(err, kerr.InvalidRecord) {
			t.Errorf("%s: want INVALID_RECORD, got %v", tc.name, err)
		}
	}
	// A payload that does not decode passes a topic that checks ids only.
	if err := produce("ids-only", good, append(schema.AppendWire(nil, int32(ss.ID)), 0x02, 'x')); err != nil {
		t.Fatalf("id-only validation decoded the payload: %v", err)
	}
	ends, err := adm.ListEndOffsets(ctx, "orders", "ids-only")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup("orders", 0); o.Offset != 2 {
		t.Fatalf("orders end offset %d: only the two conforming records may be written", o.Offset)
	}
	if o, _ := ends.Lookup("ids-only", 0); o.Offset != 2 {
		t.Fatalf("ids-only end offset %d, want 2", o.Offset)
	}
}

// TestSchemaValidationEventStoreAppends: event-store appends over HTTP to a
// topic with value validation have each event's data checked against the
// subject's latest JSON schema: 400 with the reason, nothing written.
func TestSchemaValidationEventStoreAppends(t *testing.T) {
	ctx := context.Background()
	p := eddytest.Start(t)
	adm := kadm.NewClient(newClient(t, p))
	v := func(s string) *string { return &s }
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{
		"eddy.streams":                      v("true"),
		"confluent.value.schema.validation": v("true"),
	}, "accounts"); err != nil {
		t.Fatal(err)
	}
	n := 0
	appendEvent := func(data string) (int, string) {
		n++
		body := fmt.Sprintf(`{"events":[{"id":"e-%d","type":"Deposited","data":%s}]}`, n, data)
		resp, err := http.Post(p.HTTPURL()+"/v1/topics/accounts/streams/acc-1", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := appendEvent(`{"amount":5}`); code != http.StatusBadRequest || !strings.Contains(body, "no schema is registered") {
		t.Fatalf("append before any schema: %d %s", code, body)
	}
	srcl, err := sr.NewClient(sr.URLs(p.HTTPURL() + "/schema-registry"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srcl.CreateSchema(ctx, "accounts-value", sr.Schema{Type: sr.TypeJSON,
		Schema: `{"type":"object","properties":{"amount":{"type":"number","minimum":0}},"required":["amount"]}`}); err != nil {
		t.Fatal(err)
	}
	if code, body := appendEvent(`{"amount":5}`); code != http.StatusOK {
		t.Fatalf("conforming event refused: %d %s", code, body)
	}
	code, body := appendEvent(`{"amount":-3}`)
	if code != http.StatusBadRequest || !strings.Contains(body, "schema_validation") || !strings.Contains(body, "accounts-value") {
		t.Fatalf("non-conforming event: %d %s", code, body)
	}
	ends, err := adm.ListEndOffsets(ctx, "accounts")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup("accounts", 0); o.Offset != 1 {
		t.Fatalf("accounts end offset %d, want 1 (only the conforming event)", o.Offset)
	}
}

// TestSchemaValidationEventStoreRecordStrategies: under RecordNameStrategy
// and TopicRecordNameStrategy an event-store append is validated against
// the subject its event type names (<type>, <topic>-<type>), each event of
// an append under its own subject; an event whose type has no subject is
// refused, naming the subject.
func TestSchemaValidationEventStoreRecordStrategies(t *testing.T) {
	ctx := context.Background()
	p := eddytest.Start(t)
	adm := kadm.NewClient(newClient(t, p))
	srcl, err := sr.NewClient(sr.URLs(p.SchemaRegistryURL()))
	if err != nil {
		t.Fatal(err)
	}
	v := func(s string) *string { return &s }
	register := func(subject, schema string) {
		t.Helper()
		if _, err := srcl.CreateSchema(ctx, subject, sr.Schema{Type: sr.TypeJSON, Schema: schema}); err != nil {
			t.Fatalf("register %s: %v", subject, err)
		}
	}
	const created = `{"type":"object","properties":{"total":{"type":"number"}},"required":["total"]}`
	const paid = `{"type":"object","properties":{"amount":{"type":"number"}},"required":["amount"]}`
	for _, tc := range []struct {
		topic, strategy, createdSubject, paidSubject string
	}{
		{"shop", "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy", "shop-OrderCreated", "shop-OrderPaid"},
		{"shop2", "RecordNameStrategy", "OrderCreated", "OrderPaid"},
	} {
		if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{
			"eddy.streams":                          v("true"),
			"confluent.value.schema.validation":     v("true"),
			"confluent.value.subject.name.strategy": v(tc.strategy),
		}, tc.topic); err != nil {
			t.Fatal(err)
		}
		n := 0
		appendEvents := func(events ...[2]string) (int, string) {
			var parts []string
			for _, e := range events {
				n++
				parts = append(parts, fmt.Sprintf(`{"id":"e-%d","type":%q,"data":%s}`, n, e[0], e[1]))
			}
			body := `{"events":[` + strings.Join(parts, ",") + `]}`
			resp, err := http.Post(p.HTTPURL()+"/v1/topics/"+tc.topic+"/streams/o-1", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		register(tc.createdSubject, created)
		if code, body := appendEvents([2]string{"OrderCreated", `{"total":5}`}); code != http.StatusOK {
			t.Fatalf("%s: conforming OrderCreated refused: %d %s", tc.topic, code, body)
		}
		// OrderPaid has no subject yet: refused, naming the subject.
		code, body := appendEvents([2]string{"OrderPaid", `{"amount":5}`})
		if code != http.StatusBadRequest || !strings.Contains(body, tc.paidSubject) || !strings.Contains(body, "no schema is registered") {
			t.Fatalf("%s: OrderPaid without a subject: %d %s", tc.topic, code, body)
		}
		register(tc.paidSubject, paid)
		// Each event of one append under its own subject: OrderPaid's
		// data does not conform to OrderPaid's schema (it is an
		// OrderCreated's), so the whole append is refused.
		code, body = appendEvents([2]string{"OrderCreated", `{"total":7}`}, [2]string{"OrderPaid", `{"total":7}`})
		if code != http.StatusBadRequest || !strings.Contains(body, "schema_validation") || !strings.Contains(body, tc.paidSubject) {
			t.Fatalf("%s: non-conforming OrderPaid: %d %s", tc.topic, code, body)
		}
		if code, body := appendEvents([2]string{"OrderPaid", `{"amount":5}`}, [2]string{"OrderCreated", `{"total":1}`}); code != http.StatusOK {
			t.Fatalf("%s: conforming OrderPaid and OrderCreated refused: %d %s", tc.topic, code, body)
		}
		ends, err := adm.ListEndOffsets(ctx, tc.topic)
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := ends.Lookup(tc.topic, 0); o.Offset != 3 {
			t.Fatalf("%s end offset %d, want 3 (the conforming appends only)", tc.topic, o.Offset)
		}
	}
}
