package broker

import "time"

// retentionLoop enforces retention.ms and retention.bytes on every
// partition every RetentionCheckInterval, and releases the tail caches of
// partitions nobody fetches.
func (b *Broker) retentionLoop() {
	defer b.wg.Done()
	t := time.NewTicker(b.cfg.RetentionCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.EnforceRetention()
			b.releaseIdleTails()
		}
	}
}

// releaseIdleTails releases the tail cache of every partition nobody has
// fetched lately (tailCache.releaseIdle).
func (b *Broker) releaseIdleTails() {
	now := time.Now().UnixNano()
	for _, p := range b.allPartitions() {
		p.tail.releaseIdle(now)
	}
}

// allPartitions returns every partition of every topic.
func (b *Broker) allPartitions() []*partition {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var parts []*partition
	for _, t := range b.mu.topics {
		parts = append(parts, t.parts...)
	}
	return parts
}

// EnforceRetention runs retention on every partition now and returns the
// number of segments deleted.
func (b *Broker) EnforceRetention() int {
	parts := b.allPartitions()
	total := 0
	for _, p := range parts {
		n, err := p.log.EnforceRetention()
		if err != nil {
			b.log.Warn("retention", "topic", p.topic, "partition", p.id, "err", err)
			continue
		}
		if n > 0 {
			b.log.Info("retention deleted segments", "topic", p.topic, "partition", p.id, "segments", n, "log_start_offset", p.log.LogStartOffset())
		}
		total += n
	}
	return total
}
