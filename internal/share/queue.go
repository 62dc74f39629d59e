package share

import (
	"context"
	"fmt"
	"time"
)

// HTTPMember is the member id records received over the HTTP queue API
// are acquired under: HTTP clients hold no session, so their records are
// identified by ack ids (topic, partition, offset and delivery count)
// and released by the acquisition lock when never acknowledged.
const HTTPMember = "eddy-http"

// Delivery is one record handed out by Receive.
type Delivery struct {
	Topic      string
	Partition  int32
	Deliveries int16
	Record     *Record
}

// EnsureGroup creates the share group if it does not exist.
func (c *Coordinator) EnsureGroup(group string) error {
	if group == "" {
		return fmt.Errorf("%w: empty group id", ErrInvalidRequest)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.groups[group] != nil {
		return nil
	}
	if err := c.store.SaveGroup(group, GroupRecord{}); err != nil {
		return err
	}
	c.groups[group] = c.newGroup(group)
	return nil
}

// Receive acquires up to max records of topics for the HTTP queue API,
// waiting up to wait for some, with the same semantics as ShareFetch.
// Offsets in the acquired ranges that hold no record (transaction markers)
// are acknowledged as gaps.
func (c *Coordinator) Receive(ctx context.Context, group string, topics []string, max int, wait time.Duration) ([]Delivery, error) {
	if err := c.EnsureGroup(group); err != nil {
		return nil, err
	}
	var parts []TP
	for _, t := range topics {
		info, err := c.b.Topic(t)
		if err != nil {
			return nil, fmt.Errorf("%w: %s", ErrUnknownPartition, t)
		}
		for p := range info.Partitions {
			parts = append(parts, TP{t, p})
		}
	}
	res, err := c.Fetch(ctx, FetchRequest{Group: group, MemberID: HTTPMember, Partitions: parts, MaxRecords: max, MaxWait: wait})
	if err != nil {
		return nil, err
	}
	var out []Delivery
	for _, pr := range res {
		if pr.Err != nil {
			return out, pr.Err
		}
		if len(pr.Acquired) == 0 {
			continue
		}
		recs, _ := decodeRecords(pr.Batches)
		byOff := make(map[int64]*Record, len(recs))
		for _, r := range recs {
			byOff[r.Offset] = r
		}
		var gaps []AckBatch
		for _, rg := range pr.Acquired {
			for off := rg.First; off <= rg.Last; off++ {
				if r := byOff[off]; r != nil {
					out = append(out, Delivery{Topic: pr.Topic, Partition: pr.Partition, Deliveries: rg.Deliveries, Record: r})
				} else {
					gaps = append(gaps, AckBatch{First: off, Last: off, Types: []AckType{AckGap}})
				}
			}
		}
		if len(gaps) > 0 {
			if err := c.Ack(ctx, group, HTTPMember, pr.TP, gaps); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// AckDelivery acknowledges one record received over HTTP, checking that
// it is still the delivery the ack id names (a record redelivered since
// is refused with ErrInvalidRecordState).
func (c *Coordinator) AckDelivery(ctx context.Context, group string, t TP, offset int64, deliveries int16, ty AckType) error {
	g := c.group(group)
	if g == nil {
		return fmt.Errorf("%w: %s", ErrGroupNotFound, group)
	}
	sp := g.part(t.Topic, t.Partition)
	sp.mu.Lock()
	r := sp.p.at(offset)
	ok := r != nil && r.state == Acquired && r.deliveries == deliveries && r.member == HTTPMember
	sp.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s-%d offset %d delivery %d is no longer held (acknowledged, or its lock ran out)", ErrInvalidRecordState, t.Topic, t.Partition, offset, deliveries)
	}
	return c.Ack(ctx, group, HTTPMember, t, []AckBatch{{First: offset, Last: offset, Types: []AckType{ty}}})
}
