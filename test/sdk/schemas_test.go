package sdk_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/eddy-streaming/eddy/internal/node"
	"github.com/eddy-streaming/eddy/internal/schema"
	"github.com/eddy-streaming/eddy/sdk/pubsub"
)

type paymentCaptured struct {
	PaymentID   string `avro:"paymentId" json:"paymentId"`
	AmountCents int64  `avro:"amountCents" json:"amountCents"`
}

const paymentAvro = `{"type":"record","name":"PaymentCaptured","namespace":"shop","fields":[
	{"name":"paymentId","type":"string"},{"name":"amountCents","type":"long"}]}`

const orderJSONSchema = `{"type":"object","properties":{"id":{"type":"string"},"total":{"type":"number"}},"required":["id","total"]}`

// TestPublisherSchemaRegistry: a Publisher with Schemas writes JSON Schema
// and Avro values in the Confluent wire format under the ids the registry
// gave, so topics with full schema validation in the broker accept them
// (and refuse the same data published without the serializer); a Router
// with the same Schemas decodes them into typed handlers, and one without
// them still reads the JSON Schema values.
func TestPublisherSchemaRegistry(t *testing.T) {
	cfg := node.DefaultConfig(t.TempDir())
	cfg.Kafka.Addr = "127.0.0.1:0"
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.SchemaRegistry = &node.SchemaRegistryConfig{Addr: "127.0.0.1:0"}
	n, err := node.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.Close(ctx)
	})
	ctx := context.Background()
	brokers := []string{n.Kafka.Addr().String()}
	admin, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	full := map[string]string{"confluent.value.schema.validation": "true", "eddy.value.schema.validation": "full"}
	for _, topic := range []string{"orders", "payments"} {
		if err := pubsub.CreateTopic(ctx, admin, topic, 1, full); err != nil {
			t.Fatal(err)
		}
	}

	rcl, err := sr.NewClient(sr.URLs("http://" + n.SchemaRegistryAddr()))
	if err != nil {
		t.Fatal(err)
	}
	schemas := pubsub.NewSchemas(rcl)
	orderID, err := schemas.Register(ctx, "orders-value", sr.Schema{Type: sr.TypeJSON, Schema: orderJSONSchema}, orderCreated{}, pubsub.JSONCodec())
	if err != nil {
		t.Fatal(err)
	}
	paymentSchema := avro.MustParse(paymentAvro)
	avroCodec := pubsub.Codec{
		Encode: func(v any) ([]byte, error) { return avro.Marshal(paymentSchema, v) },
		Decode: func(b []byte, v any) error { return avro.Unmarshal(paymentSchema, b, v) },
	}
	paymentID, err := schemas.Register(ctx, "payments-value", sr.Schema{Type: sr.TypeAvro, Schema: paymentAvro}, paymentCaptured{}, avroCodec)
	if err != nil {
		t.Fatal(err)
	}
	// Registering again is the same id.
	if again, err := schemas.Register(ctx, "orders-value", sr.Schema{Type: sr.TypeJSON, Schema: orderJSONSchema}, orderCreated{}, pubsub.JSONCodec()); err != nil || again != orderID {
		t.Fatalf("re-register: %d %v, want %d", again, err, orderID)
	}

	pub, err := pubsub.NewPublisher(brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	// Without the serializer the broker refuses the plain JSON.
	err = pub.Publish(ctx, pubsub.Message{Topic: "orders", Key: "o-0", Type: "OrderCreated", Data: orderCreated{ID: "0", Total: 1}})
	if !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("plain JSON to a validated topic: %v, want INVALID_RECORD", err)
	}
	pub.WithSchemas(schemas)
	const count = 5
	for i := range count {
		err := pub.Publish(ctx,
			pubsub.Message{Topic: "orders", Key: "o", Type: "OrderCreated", Data: orderCreated{ID: string(rune('a' + i)), Total: float64(10 * i)}},
			pubsub.Message{Topic: "payments", Key: "p", Type: "PaymentCaptured", Data: paymentCaptured{PaymentID: string(rune('a' + i)), AmountCents: int64(100 * i)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The records carry the wire format with the registry's ids and the
	// content type of their schema type.
	for _, tc := range []struct {
		topic, ct string
		id        int
	}{{"orders", "application/json", orderID}, {"payments", "application/avro", paymentID}} {
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(tc.topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		cl.Close()
		recs := fs.Records()
		if len(recs) == 0 {
			t.Fatalf("%s: nothing consumed: %v", tc.topic, fs.Errors())
		}
		id, _, err := schema.ParseWire(recs[0].Value)
		if err != nil || int(id) != tc.id || header(recs[0], pubsub.HeaderContentType) != tc.ct {
			t.Errorf("%s: id %d (%v), content type %q; want id %d, %s", tc.topic, id, err, header(recs[0], pubsub.HeaderContentType), tc.id, tc.ct)
		}
	}

	// A router with the Schemas decodes both formats into typed handlers.
	var mu sync.Mutex
	var orders []orderCreated
	var payments []paymentCaptured
	r := pubsub.NewRouter(brokers, "billing", pubsub.WithSchemas(schemas))
	r.Handle("orders", "OrderCreated", func(_ context.Context, o orderCreated) error {
		mu.Lock()
		defer mu.Unlock()
		orders = append(orders, o)
		return nil
	})
	r.Handle("payments", "PaymentCaptured", func(_ context.Context, p paymentCaptured) error {
		mu.Lock()
		defer mu.Unlock()
		payments = append(payments, p)
		return nil
	})
	stop := runRouter(t, r)
	waitFor(t, "typed events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(orders) == count && len(payments) == count
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for i := range count {
		if orders[i].ID != string(rune('a'+i)) || orders[i].Total != float64(10*i) || payments[i].AmountCents != int64(100*i) || payments[i].PaymentID != string(rune('a'+i)) {
			t.Fatalf("event %d: %+v %+v", i, orders[i], payments[i])
		}
	}

	// A Schemas with nothing bound asks the registry: JSON Schema values
	// decode, Avro ones need their Go type bound.
	fresh := pubsub.NewSchemas(rcl)
	var o orderCreated
	if err := fresh.Decode(ctx, schemas.Serde().MustEncode(orderCreated{ID: "x", Total: 2}), &o); err != nil || o.ID != "x" {
		t.Fatalf("unbound JSON id: %+v %v", o, err)
	}
	var p paymentCaptured
	if err := fresh.Decode(ctx, schemas.Serde().MustEncode(paymentCaptured{PaymentID: "x"}), &p); !errors.Is(err, sr.ErrNotRegistered) {
		t.Fatalf("unbound Avro id: %v", err)
	}

	// A router without Schemas still reads the JSON Schema values.
	var plain []orderCreated
	r2 := pubsub.NewRouter(brokers, "audit")
	r2.Handle("orders", "OrderCreated", func(_ context.Context, o orderCreated) error {
		mu.Lock()
		defer mu.Unlock()
		plain = append(plain, o)
		return nil
	})
	stop2 := runRouter(t, r2)
	waitFor(t, "JSON events without schemas", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(plain) == count
	})
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	if plain[count-1] != orders[count-1] {
		t.Fatalf("without schemas: %+v, with: %+v", plain[count-1], orders[count-1])
	}
}
