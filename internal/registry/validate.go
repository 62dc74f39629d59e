package registry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/eddy-streaming/eddy/internal/broker"
	kbatch "github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/schema"
)

// ErrInvalidRecord is wrapped by every validation refusal (a
// *RecordError); front ends map it to INVALID_RECORD (Kafka) or 400 (HTTP).
var ErrInvalidRecord = errors.New("record refused by schema validation")

// RecordError says which record of a produce was refused and why.
type RecordError struct {
	Topic string
	// Record is the record's index in the produced batches (0-based).
	Record int
	// Side is "key" or "value".
	Side    string
	Subject string
	Reason  string
}

func (e *RecordError) Error() string {
	subject := ""
	if e.Subject != "" {
		subject = fmt.Sprintf(" (subject %s)", e.Subject)
	}
	return fmt.Sprintf("schema validation: topic %s record %d %s%s: %s", e.Topic, e.Record, e.Side, subject, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidRecord) true.
func (e *RecordError) Unwrap() error { return ErrInvalidRecord }

// Strategy maps a record to its subject.
type Strategy int

// The subject name strategies of Confluent's serializers.
const (
	// TopicName: <topic>-key or <topic>-value.
	TopicName Strategy = iota
	// RecordName: the record's fully-qualified name.
	RecordName
	// TopicRecordName: <topic>-<record name>.
	TopicRecordName
)

// SidePolicy is the validation of a record's key or value.
type SidePolicy struct {
	Enabled  bool
	Full     bool // decode the payload against the schema, not only check the id
	Strategy Strategy
}

// Policy is a topic's schema validation, from its configs.
type Policy struct {
	Key, Value SidePolicy
}

// Enabled reports whether the policy checks anything.
func (p Policy) Enabled() bool { return p.Key.Enabled || p.Value.Enabled }

// ParsePolicy reads a topic's validation configs (overrides; absent keys
// take their defaults): confluent.{key,value}.schema.validation,
// confluent.{key,value}.subject.name.strategy and
// eddy.{key,value}.schema.validation (id or full).
func ParsePolicy(configs map[string]string) (Policy, error) {
	var p Policy
	var errs []error
	side := func(enabled, strategy, depth string) SidePolicy {
		var s SidePolicy
		s.Enabled = configs[enabled] == "true"
		s.Full = configs[depth] == "full"
		switch v := strings.TrimPrefix(configs[strategy], "io.confluent.kafka.serializers.subject."); v {
		case "", "TopicNameStrategy":
			s.Strategy = TopicName
		case "RecordNameStrategy":
			s.Strategy = RecordName
		case "TopicRecordNameStrategy":
			s.Strategy = TopicRecordName
		default:
			errs = append(errs, fmt.Errorf("%s: unknown subject name strategy %q", strategy, configs[strategy]))
		}
		return s
	}
	p.Key = side(broker.ConfigKeySchemaValidation, broker.ConfigKeySubjectStrategy, broker.ConfigEddyKeySchemaCheck)
	p.Value = side(broker.ConfigValueSchemaValidation, broker.ConfigValueSubjectStrategy, broker.ConfigEddyValueSchemaCheck)
	return p, errors.Join(errs...)
}

// Validator checks produced records against the registry: each validated
// key or value must be in the wire format with a schema id registered under
// its subject, and under full validation must decode under that schema.
// Compiled schemas come from the registry's cache. It is safe for
// concurrent use.
type Validator struct{ r *Registry }

// NewValidator returns a Validator over r.
func NewValidator(r *Registry) *Validator { return &Validator{r: r} }

// Validate checks every record of batches (one or more RecordBatch v2, as
// produced) under p. It returns nil or a *RecordError for the first refused
// record: nothing of the batches may then be written.
func (v *Validator) Validate(topic string, p Policy, batches []byte) error {
	return v.validate(topic, p, batches, nil, nil)
}

// validate is Validate; with hs and sections (the broker's validated
// headers and kept records sections) it reads the records from the
// sections instead of decompressing the batches again.
func (v *Validator) validate(topic string, p Policy, batches []byte, hs []kbatch.BatchHeader, sections *kbatch.Sections) error {
	if !p.Enabled() {
		return nil
	}
	key := sideState{name: "key", policy: p.Key}
	val := sideState{name: "value", policy: p.Value}
	if key.policy.Enabled {
		key.topicSubject = topic + "-key"
	}
	if val.policy.Enabled {
		val.topicSubject = topic + "-value"
	}
	i := 0
	checkRecord := func(k, value []byte) error {
		if key.policy.Enabled {
			if err := v.check(topic, i, &key, k); err != nil {
				return err
			}
		}
		if val.policy.Enabled {
			if err := v.check(topic, i, &val, value); err != nil {
				return err
			}
		}
		i++
		return nil
	}
	var err error
	if hs != nil && (sections == nil || len(sections.Records) == len(hs)) {
		err = forEachKept(batches, hs, sections, checkRecord)
	} else {
		err = kbatch.ForEachInBatches(batches, func(_ *kbatch.BatchHeader, rec *kbatch.Record) error {
			return checkRecord(rec.Key, rec.Value)
		})
	}
	var re *RecordError
	if err != nil && !errors.As(err, &re) {
		return &RecordError{Topic: topic, Record: i, Side: "batch", Reason: err.Error()}
	}
	return err
}

// forEachKept calls fn with the key and value of every record of batches
// the broker validated (hs their headers), walking uncompressed batches and
// the records sections the broker kept in place; the others (streamed
// codecs, or nothing kept) are decompressed here.
func forEachKept(batches []byte, hs []kbatch.BatchHeader, sections *kbatch.Sections, fn func(key, value []byte) error) error {
	pos := 0
	for i := range hs {
		var recs []byte
		switch {
		case sections != nil:
			recs = sections.Records[i]
		case hs[i].Codec() == kbatch.CodecNone && hs[i].Size() <= len(batches)-pos && hs[i].Size() >= kbatch.BatchHeaderSize:
			recs = batches[pos+kbatch.BatchHeaderSize : pos+hs[i].Size()]
		}
		var err error
		if recs != nil {
			err = kbatch.ForEachKeyValue(recs, hs[i].RecordCount, func(_ int, k, v []byte) error { return fn(k, v) })
		} else {
			err = kbatch.ForEachHeader(hs[i], batches[pos:], func(_ *kbatch.BatchHeader, rec *kbatch.Record) error {
				return fn(rec.Key, rec.Value)
			})
		}
		if err != nil {
			return err
		}
		pos += hs[i].Size()
	}
	return nil
}

// sideState is one Validate call's state for keys or values: the last
// schema id seen and its subject, already checked, so a batch of records
// under one schema costs one registry lookup.
type sideState struct {
	name         string
	policy       SidePolicy
	topicSubject string

	lastID      int32
	lastC       schema.Compiled
	lastSubject string // the subject lastID was found under; "" if none yet
}

func (v *Validator) check(topic string, i int, st *sideState, payload []byte) error {
	fail := func(subject, format string, args ...any) error {
		return &RecordError{Topic: topic, Record: i, Side: st.name, Subject: subject, Reason: fmt.Sprintf(format, args...)}
	}
	if payload == nil {
		// Null keys (no key) and null values (tombstones) carry no schema.
		return nil
	}
	id, data, err := schema.ParseWire(payload)
	if err != nil {
		return fail("", "%v: serialize it with a schema registry serializer", err)
	}
	c := st.lastC
	if c == nil || id != st.lastID {
		if c, err = v.r.Compiled(int(id)); err != nil {
			return fail("", "schema id %d is not registered", id)
		}
		st.lastID, st.lastC, st.lastSubject = id, c, ""
	}
	var index []int
	if c.Type() == schema.Protobuf {
		if index, data, err = schema.ParseIndexes(data); err != nil {
			return fail("", "protobuf message indexes: %v", err)
		}
	}
	subject := st.topicSubject
	if st.policy.Strategy != TopicName {
		name, err := schema.RecordName(c, index)
		if err != nil {
			return fail("", "schema id %d: %v", id, err)
		}
		subject = name
		if st.policy.Strategy == TopicRecordName {
			subject = topic + "-" + name
		}
	}
	if subject != st.lastSubject {
		if !v.r.HasID(subject, int(id)) {
			return fail(subject, "schema id %d is not registered under subject %s", id, subject)
		}
		st.lastSubject = subject
	}
	if st.policy.Full {
		if err := c.Validate(data, index); err != nil {
			return fail(subject, "payload does not conform to schema id %d: %v", id, err)
		}
	}
	return nil
}

// PolicyOf returns the policy of a topic's schema validation configs.
func PolicyOf(sv broker.SchemaValidation) Policy {
	strategy := func(s string) Strategy {
		switch strings.TrimPrefix(s, "io.confluent.kafka.serializers.subject.") {
		case "RecordNameStrategy":
			return RecordName
		case "TopicRecordNameStrategy":
			return TopicRecordName
		}
		return TopicName
	}
	return Policy{
		Key:   SidePolicy{Enabled: sv.Key, Full: sv.KeyFull, Strategy: strategy(sv.KeyStrategy)},
		Value: SidePolicy{Enabled: sv.Value, Full: sv.ValueFull, Strategy: strategy(sv.ValueStrategy)},
	}
}

// CheckAppend implements broker.AppendHook: it validates the append under
// its topic's schema validation configs. Event-store appends (whose values
// are the events' JSON data, not the wire format) have each value checked
// against the latest JSON schema of its subject instead (validateEvents).
func (v *Validator) CheckAppend(a broker.Append) (*broker.Duplicate, error) {
	p := PolicyOf(a.Config.SchemaValidation)
	if !p.Enabled() {
		return nil, nil
	}
	if a.Options.Stream.Name != "" {
		return nil, v.validateEvents(a.Topic, p, a.Batches)
	}
	return nil, v.validate(a.Topic, p, a.Batches, a.Headers, a.Sections)
}

// RecordAppend implements broker.AppendHook; the validator keeps no state.
func (v *Validator) RecordAppend(broker.Append, int64, int64) {}

// ForgetTopic implements broker.AppendHook; the validator keeps no state.
func (v *Validator) ForgetTopic(string) {}

// validateEvents checks event-store appends: each value is the event's
// JSON data, validated against the latest version of its subject, which
// must be a JSON schema. The subject follows the topic's value subject name
// strategy, with the event's type (its ce_type header) as the record name:
// <topic>-value (TopicNameStrategy), <type> (RecordNameStrategy) or
// <topic>-<type> (TopicRecordNameStrategy).
func (v *Validator) validateEvents(topic string, p Policy, batches []byte) error {
	if !p.Value.Enabled {
		return nil
	}
	type latest struct {
		c   schema.Compiled
		id  int
		err *RecordError
	}
	subjects := map[string]latest{}
	lookup := func(subject string) latest {
		if l, ok := subjects[subject]; ok {
			return l
		}
		var l latest
		c, id, err := v.r.Latest(subject)
		switch {
		case err != nil:
			l.err = &RecordError{Topic: topic, Side: "event data", Subject: subject, Reason: "no schema is registered under the subject"}
		case c.Type() != schema.JSON:
			l.err = &RecordError{Topic: topic, Side: "event data", Subject: subject,
				Reason: fmt.Sprintf("the subject's latest schema (id %d) is %s; event-store appends carry JSON data and need a JSON schema", id, c.Type())}
		default:
			l.c, l.id = c, id
		}
		subjects[subject] = l
		return l
	}
	i := 0
	err := kbatch.ForEachInBatches(batches, func(_ *kbatch.BatchHeader, rec *kbatch.Record) error {
		subject := topic + "-value"
		if p.Value.Strategy != TopicName {
			typ, ok := rec.Header(eventTypeHeader)
			if !ok || len(typ) == 0 {
				return &RecordError{Topic: topic, Record: i, Side: "event data",
					Reason: "the event has no type, which names its subject under the topic's record name strategy"}
			}
			subject = string(typ)
			if p.Value.Strategy == TopicRecordName {
				subject = topic + "-" + subject
			}
		}
		l := lookup(subject)
		if l.err != nil {
			re := *l.err
			re.Record = i
			return &re
		}
		if err := l.c.Validate(rec.Value, nil); err != nil {
			return &RecordError{Topic: topic, Record: i, Side: "event data", Subject: subject, Reason: fmt.Sprintf("schema id %d: %v", l.id, err)}
		}
		i++
		return nil
	})
	var re *RecordError
	if err != nil && !errors.As(err, &re) {
		return &RecordError{Topic: topic, Record: i, Side: "batch", Reason: err.Error()}
	}
	return err
}

// eventTypeHeader is the header holding an event-store event's type
// (eventstore.HeaderType; the registry does not import the event store).
const eventTypeHeader = "ce_type"
