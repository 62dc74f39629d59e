package broker

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/eddy-streaming/eddy/internal/commitlog"
)

// Topic config names Eddy enforces.
const (
	ConfigRetentionMs     = "retention.ms"
	ConfigRetentionBytes  = "retention.bytes"
	ConfigSegmentBytes    = "segment.bytes"
	ConfigSegmentMs       = "segment.ms"
	ConfigMaxMessageBytes = "max.message.bytes"
	ConfigTimestampType   = "message.timestamp.type"
	ConfigFsync           = "eddy.fsync"
)

// Timestamp types of message.timestamp.type.
const (
	TimestampCreateTime    = "CreateTime"
	TimestampLogAppendTime = "LogAppendTime"
)

// TopicConfig is the effective configuration of a topic: the broker's
// defaults overlaid with the topic's overrides.
type TopicConfig struct {
	// RetentionMs deletes segments whose newest record is older; -1 keeps
	// forever. Default 7 days.
	RetentionMs int64
	// RetentionBytes deletes the oldest segments while a partition is
	// larger; -1 means no limit (default).
	RetentionBytes int64
	// SegmentBytes rolls a new segment at this size. Default 1 GiB.
	SegmentBytes int64
	// SegmentMs rolls a new segment after this age. Default 7 days.
	SegmentMs int64
	// MaxMessageBytes is the largest record batch accepted. Default
	// 1048588, as Kafka.
	MaxMessageBytes int64
	// TimestampType is CreateTime (default) or LogAppendTime.
	TimestampType string
	// Fsync is always (default), interval or never.
	Fsync string
	// SchemaValidation is the schema registry's per-topic validation
	// (schema_configs.go); off by default.
	SchemaValidation SchemaValidation
	// Streams is eddy.streams: the event store indexes the topic's records
	// (streams_hook.go); off by default.
	Streams bool
}

// DefaultTopicConfig returns Kafka's defaults plus eddy.fsync=always.
func DefaultTopicConfig() TopicConfig {
	return TopicConfig{
		RetentionMs:     7 * 24 * 3600 * 1000,
		RetentionBytes:  -1,
		SegmentBytes:    1 << 30,
		SegmentMs:       7 * 24 * 3600 * 1000,
		MaxMessageBytes: 1048588,
		TimestampType:   TimestampCreateTime,
		Fsync:           "always",
	}
}

// ConfigKind tells front ends how to type a config (DescribeConfigs v3+).
type ConfigKind int8

// Config kinds, numbered as Kafka's DescribeConfigs ConfigType.
const (
	KindString ConfigKind = 2
	KindInt    ConfigKind = 3
	KindLong   ConfigKind = 5
	KindList   ConfigKind = 7
)

type configDef struct {
	kind ConfigKind
	// def returns the default value from the broker's defaults; nil for
	// accepted-but-not-enforced Kafka configs, whose default is fixed.
	def      func(TopicConfig) string
	fixedDef string
	check    func(string) error
	apply    func(*TopicConfig, string)
	doc      string
}

func longIn(min int64) func(string) error {
	return func(s string) error {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		if v < min {
			return fmt.Errorf("%d is below the minimum %d", v, min)
		}
		return nil
	}
}

// intIn is longIn capped at Kafka's int range (segment.bytes and
// max.message.bytes are 32-bit in Kafka, and segment positions are in
// Eddy).
func intIn(min int64) func(string) error {
	return func(s string) error {
		if err := longIn(min)(s); err != nil {
			return err
		}
		if v := mustLong(s); v > math.MaxInt32 {
			return fmt.Errorf("%d is above the maximum %d", v, math.MaxInt32)
		}
		return nil
	}
}

func oneOf(vals ...string) func(string) error {
	return func(s string) error {
		for _, v := range vals {
			if s == v {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", s, strings.Join(vals, ", "))
	}
}

func anyValue(string) error { return nil }

func mustLong(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }

// configDefs lists every topic config Eddy accepts. The first seven are
// enforced; the others are common Kafka topic configs that tools set when
// creating topics (kafka-topics --config cleanup.policy=delete), accepted
// and described so those tools work, but without effect (docs/kafka.md).
var configDefs = map[string]configDef{
	ConfigRetentionMs: {kind: KindLong, check: longIn(-1),
		def:   func(c TopicConfig) string { return strconv.FormatInt(c.RetentionMs, 10) },
		apply: func(c *TopicConfig, s string) { c.RetentionMs = mustLong(s) },
		doc:   "Delete segments whose newest record is older than this; -1 keeps forever."},
	ConfigRetentionBytes: {kind: KindLong, check: longIn(-1),
		def:   func(c TopicConfig) string { return strconv.FormatInt(c.RetentionBytes, 10) },
		apply: func(c *TopicConfig, s string) { c.RetentionBytes = mustLong(s) },
		doc:   "Delete the oldest segments while a partition is larger than this; -1 is unlimited."},
	ConfigSegmentBytes: {kind: KindInt, check: intIn(1024),
		def:   func(c TopicConfig) string { return strconv.FormatInt(c.SegmentBytes, 10) },
		apply: func(c *TopicConfig, s string) { c.SegmentBytes = mustLong(s) },
		doc:   "Roll a new segment at this size."},
	ConfigSegmentMs: {kind: KindLong, check: longIn(1),
		def:   func(c TopicConfig) string { return strconv.FormatInt(c.SegmentMs, 10) },
		apply: func(c *TopicConfig, s string) { c.SegmentMs = mustLong(s) },
		doc:   "Roll a new segment after this age."},
	ConfigMaxMessageBytes: {kind: KindInt, check: intIn(0),
		def:   func(c TopicConfig) string { return strconv.FormatInt(c.MaxMessageBytes, 10) },
		apply: func(c *TopicConfig, s string) { c.MaxMessageBytes = mustLong(s) },
		doc:   "Largest record batch accepted."},
	ConfigTimestampType: {kind: KindString, check: oneOf(TimestampCreateTime, TimestampLogAppendTime),
		def:   func(c TopicConfig) string { return c.TimestampType },
		apply: func(c *TopicConfig, s string) { c.TimestampType = s },
		doc:   "CreateTime keeps producer timestamps; LogAppendTime stamps batches with the broker's clock."},
	ConfigFsync: {kind: KindString, check: oneOf("always", "interval", "never"),
		def:   func(c TopicConfig) string { return c.Fsync },
		apply: func(c *TopicConfig, s string) { c.Fsync = s },
		doc:   "always: acks wait for a group-commit fsync; interval: fsync periodically; never: leave it to the OS."},

	"cleanup.policy":                      {kind: KindList, fixedDef: "delete", check: oneOf("delete", "compact", "compact,delete", "delete,compact")},
	"compression.type":                    {kind: KindString, fixedDef: "producer", check: oneOf("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd")},
	"min.insync.replicas":                 {kind: KindInt, fixedDef: "1", check: longIn(1)},
	"unclean.leader.election.enable":      {kind: KindString, fixedDef: "false", check: oneOf("true", "false")},
	"min.compaction.lag.ms":               {kind: KindLong, fixedDef: "0", check: longIn(0)},
	"max.compaction.lag.ms":               {kind: KindLong, fixedDef: "9223372036854775807", check: longIn(1)},
	"min.cleanable.dirty.ratio":           {kind: KindString, fixedDef: "0.5", check: anyValue},
	"delete.retention.ms":                 {kind: KindLong, fixedDef: "86400000", check: longIn(0)},
	"file.delete.delay.ms":                {kind: KindLong, fixedDef: "60000", check: longIn(0)},
	"flush.messages":                      {kind: KindLong, fixedDef: "9223372036854775807", check: longIn(1)},
	"flush.ms":                            {kind: KindLong, fixedDef: "9223372036854775807", check: longIn(0)},
	"index.interval.bytes":                {kind: KindInt, fixedDef: "4096", check: longIn(0)},
	"segment.index.bytes":                 {kind: KindInt, fixedDef: "10485760", check: longIn(4)},
	"segment.jitter.ms":                   {kind: KindLong, fixedDef: "0", check: longIn(0)},
	"preallocate":                         {kind: KindString, fixedDef: "false", check: oneOf("true", "false")},
	"message.downconversion.enable":       {kind: KindString, fixedDef: "true", check: oneOf("true", "false")},
	"message.timestamp.before.max.ms":     {kind: KindLong, fixedDef: "9223372036854775807", check: longIn(0)},
	"message.timestamp.after.max.ms":      {kind: KindLong, fixedDef: "9223372036854775807", check: longIn(0)},
	"message.timestamp.difference.max.ms": {kind: KindLong, fixedDef: "9223372036854775807", check: longIn(0)},
	// KIP-1191: a share group may use the topic as its dead-letter topic
	// only when this is true (read by internal/share).
	"errors.deadletterqueue.group.enable": {kind: KindString, fixedDef: "false", check: oneOf("true", "false")},
}

// EnforcedConfigs lists the topic configs that change Eddy's behaviour.
var EnforcedConfigs = []string{ConfigRetentionMs, ConfigRetentionBytes, ConfigSegmentBytes, ConfigSegmentMs, ConfigMaxMessageBytes, ConfigTimestampType, ConfigFsync}

// ValidateTopicConfig checks one config name and value.
func ValidateTopicConfig(name, value string) error {
	d, ok := configDefs[name]
	if !ok {
		return fmt.Errorf("%w: unknown topic config %q", ErrInvalidConfig, name)
	}
	if err := d.check(value); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalidConfig, name, err)
	}
	return nil
}

// IsListConfig reports whether a config holds a comma-separated list
// (IncrementalAlterConfigs APPEND and SUBTRACT apply only to those).
func IsListConfig(name string) bool { return configDefs[name].kind == KindList }

func validateConfigs(m map[string]string) error {
	for k, v := range m {
		if err := ValidateTopicConfig(k, v); err != nil {
			return err
		}
	}
	return nil
}

// effective overlays overrides on defaults.
func effective(defaults TopicConfig, overrides map[string]string) TopicConfig {
	c := defaults
	for k, v := range overrides {
		if d, ok := configDefs[k]; ok && d.apply != nil {
			d.apply(&c, v)
		}
	}
	return c
}

// ConfigEntry is one described topic config.
type ConfigEntry struct {
	Name  string
	Value string
	// Default is true when the value comes from the broker's defaults
	// rather than a topic override.
	Default bool
	Kind    ConfigKind
	Doc     string
}

// DescribeConfigEntries lists every known topic config, sorted by name,
// with the value from overrides or else from defaults.
func DescribeConfigEntries(defaults TopicConfig, overrides map[string]string) []ConfigEntry {
	out := make([]ConfigEntry, 0, len(configDefs))
	for name, d := range configDefs {
		e := ConfigEntry{Name: name, Kind: d.kind, Doc: d.doc}
		if v, ok := overrides[name]; ok {
			e.Value = v
		} else {
			e.Default = true
			if d.def != nil {
				e.Value = d.def(defaults)
			} else {
				e.Value = d.fixedDef
			}
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// logOptions maps a topic config onto commitlog options.
func logOptions(base commitlog.Options, c TopicConfig) commitlog.Options {
	o := base
	switch c.Fsync {
	case "interval":
		o.Sync = commitlog.SyncInterval
	case "never":
		o.Sync = commitlog.SyncNever
	default:
		o.Sync = commitlog.SyncAlways
	}
	o.SegmentBytes = c.SegmentBytes
	o.SegmentAge = msDuration(c.SegmentMs)
	o.RetentionBytes = c.RetentionBytes
	if c.RetentionMs < 0 {
		o.RetentionAge = -1
	} else {
		o.RetentionAge = msDuration(c.RetentionMs)
	}
	return o
}

// msDuration converts milliseconds, saturating where a Duration would
// overflow (Kafka users set Long.MAX_VALUE to mean "never").
func msDuration(ms int64) time.Duration {
	if ms > int64(math.MaxInt64/time.Millisecond) {
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}
