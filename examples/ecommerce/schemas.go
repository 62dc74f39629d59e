package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/eddy-streaming/eddy/sdk/pubsub"
)

// Every event of the system is registered as a JSON schema, one subject per
// event type (TopicRecordNameStrategy: <topic>-<type>, the schema's title
// being the type). The broker validates each write against it: the order
// streams' JSON data on appends over HTTP, the payments and inventory
// records in the Confluent wire format the Publisher writes.

// topicValidation are the schema validation configs of orders, payments
// and inventory.
var topicValidation = map[string]string{
	"confluent.value.schema.validation":     "true",
	"confluent.value.subject.name.strategy": "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy",
	"eddy.value.schema.validation":          "full", // decode each value under its schema, not only check its id
}

const itemsSchema = `{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string","minLength":1},"qty":{"type":"integer","minimum":1}},"required":["sku","qty"],"additionalProperties":false}}`

// The JSON schemas of the events. OrderCreated v2 adds the optional
// currency: data written under v1 is valid under v2, so v2 is BACKWARD
// compatible (the registry checks it when v2 is registered).
const (
	schemaOrderCreatedV1 = `{"title":"OrderCreated","type":"object","properties":{` +
		`"orderId":{"type":"string","minLength":1},"customerId":{"type":"string"},"total":{"type":"number","exclusiveMinimum":0},` +
		`"items":` + itemsSchema + `},"required":["orderId","customerId","total"],"additionalProperties":false}`
	schemaOrderCreatedV2 = `{"title":"OrderCreated","type":"object","properties":{` +
		`"orderId":{"type":"string","minLength":1},"customerId":{"type":"string"},"total":{"type":"number","exclusiveMinimum":0},` +
		`"currency":{"type":"string","pattern":"^[A-Z]{3}$"},` +
		`"items":` + itemsSchema + `},"required":["orderId","customerId","total"],"additionalProperties":false}`
	// schemaOrderCreatedV3Breaking makes currency required: v2 data
	// without it would not be readable, so BACKWARD refuses it.
	schemaOrderCreatedV3Breaking = `{"title":"OrderCreated","type":"object","properties":{` +
		`"orderId":{"type":"string","minLength":1},"customerId":{"type":"string"},"total":{"type":"number","exclusiveMinimum":0},` +
		`"currency":{"type":"string","pattern":"^[A-Z]{3}$"},` +
		`"items":` + itemsSchema + `},"required":["orderId","customerId","total","currency"],"additionalProperties":false}`
	schemaOrderPaid = `{"title":"OrderPaid","type":"object","properties":{` +
		`"orderId":{"type":"string","minLength":1},"amount":{"type":"number","exclusiveMinimum":0},"paymentId":{"type":"string"}},` +
		`"required":["orderId","amount","paymentId"],"additionalProperties":false}`
	schemaOrderCancelled = `{"title":"OrderCancelled","type":"object","properties":{` +
		`"orderId":{"type":"string","minLength":1},"reason":{"type":"string"}},"required":["orderId"],"additionalProperties":false}`
	schemaPaymentRequested = `{"title":"PaymentRequested","type":"object","properties":{` +
		`"orderId":{"type":"string","minLength":1},"amount":{"type":"number","exclusiveMinimum":0},"card":{"type":"string"}},` +
		`"required":["orderId","amount","card"],"additionalProperties":false}`
	schemaInventoryReserved = `{"title":"InventoryReserved","type":"object","properties":{` +
		`"orderId":{"type":"string","minLength":1},"items":` + itemsSchema + `},"required":["orderId"],"additionalProperties":false}`
	schemaOutOfStock = `{"title":"OutOfStock","type":"object","properties":{` +
		`"orderId":{"type":"string","minLength":1},"sku":{"type":"string"}},"required":["orderId","sku"],"additionalProperties":false}`
)

// subject is the subject of an event type on a topic.
func subject(topic, typ string) string { return topic + "-" + typ }

// registerSchemas sets BACKWARD compatibility on every subject of the
// system and registers the schemas (an already registered one keeps its
// id): OrderCreated at v1 — the scenario evolves it to v2 — and the types
// the Publisher writes bound to their Go types in schemas. Existing topics
// get the validation configs.
func registerSchemas(ctx context.Context, cl *kgo.Client, schemas *pubsub.Schemas, out io.Writer) error {
	adm := kadm.NewClient(cl)
	for _, t := range []string{topicOrders, topicPayments, topicInventory} {
		var alter []kadm.AlterConfig
		for k, v := range topicValidation {
			alter = append(alter, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: kadm.StringPtr(v)})
		}
		rs, err := adm.AlterTopicConfigs(ctx, alter, t)
		if err == nil {
			err = firstErr(rs)
		}
		if err != nil {
			return fmt.Errorf("set the schema validation configs of %s: %w", t, err)
		}
	}
	reg := schemas.Client()
	type sub struct {
		subject, schema string
		bind            any // the Go type the Publisher writes with it, or nil
	}
	subs := []sub{
		{subject(topicOrders, typeOrderCreated), schemaOrderCreatedV1, nil},
		{subject(topicOrders, typeOrderPaid), schemaOrderPaid, nil},
		{subject(topicOrders, typeOrderCancelled), schemaOrderCancelled, nil},
		{subject(topicPayments, typePaymentRequested), schemaPaymentRequested, PaymentRequested{}},
		{subject(topicInventory, typeInventoryReserved), schemaInventoryReserved, InventoryReserved{}},
		{subject(topicInventory, typeOutOfStock), schemaOutOfStock, OutOfStock{}},
	}
	for _, s := range subs {
		for _, r := range reg.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatBackward}, s.subject) {
			if r.Err != nil {
				return fmt.Errorf("set BACKWARD compatibility on %s: %w", s.subject, r.Err)
			}
		}
		sch := sr.Schema{Type: sr.TypeJSON, Schema: s.schema}
		var id int
		var err error
		if s.bind != nil {
			id, err = schemas.Register(ctx, s.subject, sch, s.bind, pubsub.JSONCodec())
		} else {
			var ss sr.SubjectSchema
			ss, err = reg.CreateSchema(ctx, s.subject, sch)
			id = ss.ID
		}
		if err != nil {
			return fmt.Errorf("register %s: %w", s.subject, err)
		}
		fmt.Fprintf(out, "schema %-28s id %d\n", s.subject, id)
	}
	return nil
}

// evolveOrderCreated registers OrderCreated v2 (the registry checks it is
// BACKWARD compatible with v1) and shows that a breaking v3 (currency
// required) is refused.
func evolveOrderCreated(ctx context.Context, reg *sr.Client, out io.Writer) error {
	sub := subject(topicOrders, typeOrderCreated)
	ss, err := reg.CreateSchema(ctx, sub, sr.Schema{Type: sr.TypeJSON, Schema: schemaOrderCreatedV2})
	if err != nil {
		return fmt.Errorf("register %s v2: %w", sub, err)
	}
	fmt.Fprintf(out, "registered %s v2 (optional currency): version %d, id %d, BACKWARD compatible\n", sub, ss.Version, ss.ID)
	res, err := reg.CheckCompatibility(ctx, sub, -1, sr.Schema{Type: sr.TypeJSON, Schema: schemaOrderCreatedV3Breaking})
	if err != nil {
		return fmt.Errorf("check a breaking %s: %w", sub, err)
	}
	if res.Is {
		return fmt.Errorf("the registry accepts a required currency in %s under BACKWARD", sub)
	}
	fmt.Fprintf(out, "a %s with a required currency is refused: not BACKWARD compatible\n", sub)
	return nil
}

// firstErr is the first error of AlterTopicConfigs' responses.
func firstErr(rs kadm.AlterConfigsResponses) error {
	var errs []error
	for _, r := range rs {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w: %s", r.Name, r.Err, r.ErrMessage))
		}
	}
	return errors.Join(errs...)
}
