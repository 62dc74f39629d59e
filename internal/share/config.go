package share

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Group config names (resource type GROUP in DescribeConfigs and
// IncrementalAlterConfigs). The share.* and errors.* names are Kafka's
// (KIP-932, KIP-1191); eddy.* are Eddy's own.
const (
	ConfigAutoOffsetReset   = "share.auto.offset.reset"
	ConfigIsolationLevel    = "share.isolation.level"
	ConfigLockDuration      = "share.record.lock.duration.ms"
	ConfigDeliveryLimit     = "share.delivery.count.limit"
	ConfigSessionTimeout    = "share.session.timeout.ms"
	ConfigHeartbeatInterval = "share.heartbeat.interval.ms"
	ConfigDLQTopic          = "errors.deadletterqueue.topic.name"
	ConfigDLQCopyRecord     = "errors.deadletterqueue.copy.record.enable"
	ConfigBackoff           = "eddy.share.retry.backoff.ms"
	ConfigBackoffMax        = "eddy.share.retry.backoff.max.ms"

	// TopicConfigDLQEnable must be true on a topic for a group to use it
	// as its dead-letter topic (KIP-1191).
	TopicConfigDLQEnable = "errors.deadletterqueue.group.enable"
)

// GroupConfig is a share group's effective configuration.
type GroupConfig struct {
	// AutoOffsetReset is where an uninitialized share-partition starts:
	// "latest" (default) or "earliest".
	AutoOffsetReset string
	// IsolationLevel is read_uncommitted (default) or read_committed.
	IsolationLevel string
	// LockDuration is the acquisition lock; default 30 s.
	LockDuration time.Duration
	// DeliveryLimit is the delivery attempts before archiving; default 5.
	DeliveryLimit int
	// SessionTimeout expires a member that stops heartbeating; default 45 s.
	SessionTimeout time.Duration
	// HeartbeatInterval is told to members; default 5 s.
	HeartbeatInterval time.Duration
	// DLQTopic is the dead-letter topic, "" for none.
	DLQTopic string
	// DLQCopyRecord copies the original key, value and headers into the
	// dead-letter record; default true.
	DLQCopyRecord bool
	// BackoffFirst and BackoffMax shape redelivery backoff; defaults 0
	// (Kafka's immediate redelivery) and 60 s.
	BackoffFirst, BackoffMax time.Duration
}

// DefaultGroupConfig returns Kafka's defaults.
func DefaultGroupConfig() GroupConfig {
	return GroupConfig{
		AutoOffsetReset:   "latest",
		IsolationLevel:    "read_uncommitted",
		LockDuration:      30 * time.Second,
		DeliveryLimit:     5,
		SessionTimeout:    45 * time.Second,
		HeartbeatInterval: 5 * time.Second,
		DLQCopyRecord:     true,
		BackoffMax:        60 * time.Second,
	}
}

type configDef struct {
	get   func(GroupConfig) string
	parse func(*GroupConfig, string) error
	doc   string
}

func msField(get func(GroupConfig) time.Duration, set func(*GroupConfig, time.Duration), min, max int64) (func(GroupConfig) string, func(*GroupConfig, string) error) {
	return func(c GroupConfig) string { return strconv.FormatInt(get(c).Milliseconds(), 10) },
		func(c *GroupConfig, s string) error {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil || v < min || v > max {
				return fmt.Errorf("must be an integer in [%d, %d]", min, max)
			}
			set(c, time.Duration(v)*time.Millisecond)
			return nil
		}
}

var configDefs = map[string]configDef{}

func init() {
	def := func(name, doc string, get func(GroupConfig) string, parse func(*GroupConfig, string) error) {
		configDefs[name] = configDef{get: get, parse: parse, doc: doc}
	}
	def(ConfigAutoOffsetReset, "Where a share-partition with no state starts: latest or earliest.",
		func(c GroupConfig) string { return c.AutoOffsetReset },
		func(c *GroupConfig, s string) error {
			if s != "latest" && s != "earliest" {
				return errors.New("must be latest or earliest")
			}
			c.AutoOffsetReset = s
			return nil
		})
	def(ConfigIsolationLevel, "read_uncommitted or read_committed.",
		func(c GroupConfig) string { return c.IsolationLevel },
		func(c *GroupConfig, s string) error {
			if s != "read_uncommitted" && s != "read_committed" {
				return errors.New("must be read_uncommitted or read_committed")
			}
			c.IsolationLevel = s
			return nil
		})
	g, p := msField(func(c GroupConfig) time.Duration { return c.LockDuration }, func(c *GroupConfig, d time.Duration) { c.LockDuration = d }, 1000, 3600000)
	def(ConfigLockDuration, "How long an acquired record stays locked to its member.", g, p)
	def(ConfigDeliveryLimit, "Deliveries after which an unacknowledged record is archived (or dead-lettered).",
		func(c GroupConfig) string { return strconv.Itoa(c.DeliveryLimit) },
		func(c *GroupConfig, s string) error {
			v, err := strconv.Atoi(s)
			if err != nil || v < 2 || v > 10 {
				return errors.New("must be an integer in [2, 10]")
			}
			c.DeliveryLimit = v
			return nil
		})
	g, p = msField(func(c GroupConfig) time.Duration { return c.SessionTimeout }, func(c *GroupConfig, d time.Duration) { c.SessionTimeout = d }, 1000, 3600000)
	def(ConfigSessionTimeout, "A member that does not heartbeat for this long leaves the group.", g, p)
	g, p = msField(func(c GroupConfig) time.Duration { return c.HeartbeatInterval }, func(c *GroupConfig, d time.Duration) { c.HeartbeatInterval = d }, 1000, 3600000)
	def(ConfigHeartbeatInterval, "How often members heartbeat.", g, p)
	def(ConfigDLQTopic, "Dead-letter topic for rejected and undeliverable records; it must start with the broker's prefix and carry errors.deadletterqueue.group.enable=true.",
		func(c GroupConfig) string { return c.DLQTopic },
		func(c *GroupConfig, s string) error { c.DLQTopic = s; return nil })
	def(ConfigDLQCopyRecord, "Copy the original key, value and headers into dead-letter records.",
		func(c GroupConfig) string { return strconv.FormatBool(c.DLQCopyRecord) },
		func(c *GroupConfig, s string) error {
			v, err := strconv.ParseBool(s)
			if err != nil {
				return errors.New("must be true or false")
			}
			c.DLQCopyRecord = v
			return nil
		})
	g, p = msField(func(c GroupConfig) time.Duration { return c.BackoffFirst }, func(c *GroupConfig, d time.Duration) { c.BackoffFirst = d }, 0, 86400000)
	def(ConfigBackoff, "First redelivery delay of a released or timed-out record; doubles per delivery; 0 redelivers at once.", g, p)
	g, p = msField(func(c GroupConfig) time.Duration { return c.BackoffMax }, func(c *GroupConfig, d time.Duration) { c.BackoffMax = d }, 0, 86400000)
	def(ConfigBackoffMax, "Largest redelivery delay.", g, p)
}

// ConfigError is returned for a bad group config name or value.
type ConfigError struct {
	Name, Value, Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("group config %s=%q: %s", e.Name, e.Value, e.Reason)
}

// IsGroupConfig reports whether name is a share-group config.
func IsGroupConfig(name string) bool { _, ok := configDefs[name]; return ok }

// ApplyConfigs returns base with overrides applied, or a *ConfigError.
func ApplyConfigs(base GroupConfig, overrides map[string]string, dlqPrefix string) (GroupConfig, error) {
	c := base
	var errs []error
	for _, name := range sortedKeys(overrides) {
		v := overrides[name]
		d, ok := configDefs[name]
		if !ok {
			errs = append(errs, &ConfigError{name, v, "unknown share group config"})
			continue
		}
		if err := d.parse(&c, v); err != nil {
			errs = append(errs, &ConfigError{name, v, err.Error()})
		}
	}
	if c.DLQTopic != "" && dlqPrefix != "" && !strings.HasPrefix(c.DLQTopic, dlqPrefix) {
		errs = append(errs, &ConfigError{ConfigDLQTopic, c.DLQTopic, fmt.Sprintf("dead-letter topic names must start with %q (errors.deadletterqueue.topic.name.prefix)", dlqPrefix)})
	}
	if c.BackoffMax < c.BackoffFirst {
		errs = append(errs, &ConfigError{ConfigBackoffMax, strconv.FormatInt(c.BackoffMax.Milliseconds(), 10), "must not be below " + ConfigBackoff})
	}
	return c, errors.Join(errs...)
}

// ConfigEntry is one described group config.
type ConfigEntry struct {
	Name, Value, Doc string
	// Default is true when the group does not override it.
	Default bool
}

// DescribeConfigs lists every group config with its effective value.
func DescribeConfigs(base GroupConfig, overrides map[string]string) []ConfigEntry {
	eff, _ := ApplyConfigs(base, overrides, "")
	var out []ConfigEntry
	for _, name := range sortedKeys(configDefs) {
		_, set := overrides[name]
		out = append(out, ConfigEntry{Name: name, Value: configDefs[name].get(eff), Doc: configDefs[name].doc, Default: !set})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
