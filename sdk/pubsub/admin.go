package pubsub

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreateTopic creates topic with partitions and configs through cl; a
// topic that exists already is not an error. It waits until the topic's
// metadata is visible.
func CreateTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int32, configs map[string]string) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, -1
	for k, v := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil && err != kerr.TopicAlreadyExists {
			msg := ""
			if t.ErrorMessage != nil {
				msg = ": " + *t.ErrorMessage
			}
			return fmt.Errorf("create topic %s: %w%s", topic, err, msg)
		}
	}
	return nil
}

// CreateView creates a view (docs/views.md): a read-only topic of the
// records of source that the CEL filter matches. An existing one is left
// as it is.
func CreateView(ctx context.Context, cl *kgo.Client, view, source, filter string) error {
	return CreateTopic(ctx, cl, view, -1, map[string]string{"eddy.view.source": source, "eddy.view.filter": filter})
}

// CreateDLQTopic creates a dead-letter topic that share groups may write
// to (errors.deadletterqueue.group.enable=true); its name must start with
// "dlq.".
func CreateDLQTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int32) error {
	return CreateTopic(ctx, cl, topic, partitions, map[string]string{"errors.deadletterqueue.group.enable": "true"})
}

// ShareGroupConfig is the broker-side configuration of a share group
// (docs/queues.md). Zero fields are left as they are.
type ShareGroupConfig struct {
	// AutoOffsetReset is "earliest" or "latest" (the broker's default):
	// where a new share group starts.
	AutoOffsetReset string
	// DeliveryLimit is share.delivery.count.limit (2–10; broker default 5).
	DeliveryLimit int
	// DLQTopic is errors.deadletterqueue.topic.name: rejected records and
	// those out of deliveries are written there (create it with
	// CreateDLQTopic).
	DLQTopic string
	// RetryBackoff and RetryBackoffMax are Eddy's redelivery backoff
	// (eddy.share.retry.backoff.ms and .max.ms).
	RetryBackoff, RetryBackoffMax time.Duration
	// LockDuration is share.record.lock.duration.ms.
	LockDuration time.Duration
}

// ConfigureShareGroup sets group's configs (IncrementalAlterConfigs on
// resource type GROUP).
func ConfigureShareGroup(ctx context.Context, cl *kgo.Client, group string, c ShareGroupConfig) error {
	set := map[string]string{}
	if c.AutoOffsetReset != "" {
		set["share.auto.offset.reset"] = c.AutoOffsetReset
	}
	if c.DeliveryLimit > 0 {
		set["share.delivery.count.limit"] = strconv.Itoa(c.DeliveryLimit)
	}
	if c.DLQTopic != "" {
		set["errors.deadletterqueue.topic.name"] = c.DLQTopic
	}
	if c.RetryBackoff > 0 {
		set["eddy.share.retry.backoff.ms"] = strconv.FormatInt(c.RetryBackoff.Milliseconds(), 10)
	}
	if c.RetryBackoffMax > 0 {
		set["eddy.share.retry.backoff.max.ms"] = strconv.FormatInt(c.RetryBackoffMax.Milliseconds(), 10)
	}
	if c.LockDuration > 0 {
		set["share.record.lock.duration.ms"] = strconv.FormatInt(c.LockDuration.Milliseconds(), 10)
	}
	if len(set) == 0 {
		return nil
	}
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	for k, v := range set {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = k, kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr(v)
		res.Configs = append(res.Configs, c)
	}
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("configure share group %s: %w", group, err)
	}
	for _, r := range resp.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			msg := ""
			if r.ErrorMessage != nil {
				msg = ": " + *r.ErrorMessage
			}
			return fmt.Errorf("configure share group %s: %w%s", group, err, msg)
		}
	}
	return nil
}
