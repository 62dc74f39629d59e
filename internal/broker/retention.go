package broker

import "time"

// retentionLoop enforces retention.ms and retention.bytes on every
// partition every RetentionCheckInterval.
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
		}
	}
}

// EnforceRetention runs retention on every partition now and returns the
// number of segments deleted.
func (b *Broker) EnforceRetention() int {
	b.mu.RLock()
	var parts []*partition
	for _, t := range b.mu.topics {
		parts = append(parts, t.parts...)
	}
	b.mu.RUnlock()
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
