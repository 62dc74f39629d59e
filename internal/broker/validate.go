package broker

import "github.com/eddy-streaming/eddy/internal/record"

// defaultDecompressionRatio is Config.DecompressionRatio's default: a
// topic with the default max.message.bytes (1 MiB) accepts batches that
// decompress to up to 64 MiB.
const defaultDecompressionRatio = 64

// validateRecords proves every record of the batches readable before they
// are stored (record.ValidateAllRecords): a batch a consumer cannot
// decode would otherwise stop every consumer of the partition for good.
// Compressed batches may decompress to DecompressionRatio times the
// topic's max.message.bytes (at least 1 MiB). It runs outside the
// partition lock, reading only the topic's max.message.bytes under it.
//
// When the topic validates record schemas or is an event-store topic (its
// append hooks read every record again) and a batch is compressed, the decompressed records
// sections are kept and returned for them (record.Sections; the caller
// releases them); otherwise the result is nil.
func (b *Broker) validateRecords(p *partition, batches []byte, hs []record.BatchHeader) (*record.Sections, error) {
	compressed := false
	for i := range hs {
		if hs[i].Codec() != record.CodecNone {
			compressed = true
			break
		}
	}
	if !compressed {
		// Hooks read uncompressed batches in place; nothing to keep.
		return nil, record.ValidateAllRecords(batches, hs, 0)
	}
	p.mu.Lock()
	maxMsg := p.mu.cfg.MaxMessageBytes
	sv := p.mu.cfg.SchemaValidation
	streams := p.mu.cfg.Streams
	p.mu.Unlock()
	ratio := b.cfg.DecompressionRatio
	if ratio <= 0 {
		ratio = defaultDecompressionRatio
	}
	limit := int(min(max(maxMsg, 1<<20)*int64(ratio), record.MaxDecompressed))
	if sv.Key || sv.Value || streams {
		return record.ValidateAllRecordsKeep(batches, hs, limit)
	}
	return nil, record.ValidateAllRecords(batches, hs, limit)
}
