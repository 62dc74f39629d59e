package eventstore

import (
	"bytes"
	"fmt"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/record"
)

// checkNotStream refuses conditional records on a topic that is not an
// event-store topic, which has no versions to check them against. Only
// uncompressed batches are looked into.
//
// It runs on every produce to a plain topic, so it must cost next to
// nothing. A batch whose records average at least walkMinRecordSize bytes
// is checked by walking the record framing (a few varints per record to
// reach its header count; the keys and values are skipped, not read); a
// batch of smaller records by one byte search for the encoded header key,
// which is cheaper than the walk when records are that small. Either way
// a batch that may hold the header is then decoded to be sure.
func (s *Store) checkNotStream(topic string, plain bool, hs []record.BatchHeader, batches []byte) error {
	for i, pos := 0, 0; i < len(hs) && pos < len(batches); i++ {
		h := hs[i]
		if h.Size() < record.BatchHeaderSize || pos+h.Size() > len(batches) {
			break
		}
		batch := batches[pos : pos+h.Size()]
		pos += h.Size()
		if h.Compression() != 0 || h.Attributes&record.AttrControl != 0 || !mayHoldExpectedHeader(h, batch) {
			continue
		}
		err := forEachRecord(h, batch, func(r *Record) error {
			if _, ok := r.Header(HeaderExpectedVersion); ok {
				if !plain {
					select {
					case s.kick <- struct{}{}:
					default:
					}
					return fmt.Errorf("%w: topic %q", ErrIndexNotReady, topic)
				}
				return fmt.Errorf("%w: topic %q has a record with the %s header, but its %s config is not true", ErrNotStreamTopic, topic, HeaderExpectedVersion, broker.ConfigStreams)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// walkMinRecordSize is the average record size from which walking the
// records beats searching their bytes (BenchmarkPlainTopicCheck, 16 KiB
// batches of incompressible records: the walk costs about 16 ns a record,
// the search about 750 ns a batch, so they cross near 360-byte records;
// 1 KiB records: 265 ns walked, 735 ns searched).
const walkMinRecordSize = 384

// mayHoldExpectedHeader reports whether an uncompressed batch may hold a
// record with the expected-version header. It never misses one; for a
// batch whose record framing does not parse it falls back to the byte
// search.
func mayHoldExpectedHeader(h record.BatchHeader, batch []byte) bool {
	recs := batch[record.BatchHeaderSize:]
	if h.RecordCount <= 0 || len(recs)/int(h.RecordCount) < walkMinRecordSize {
		return containsExpectedKey(recs)
	}
	if has, ok := record.HasHeaderKey(recs, h.RecordCount, HeaderExpectedVersion); ok {
		return has
	}
	return containsExpectedKey(recs)
}

// containsExpectedKey searches records' bytes for the encoded header key.
func containsExpectedKey(recs []byte) bool { return bytes.Contains(recs, expectedHeaderKey) }
