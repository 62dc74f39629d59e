package kafka

import (
	"encoding/binary"
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// zeroCopyMin is the size from which a partition's record batches are sent
// as their own iovec (writev) instead of being copied into the frame.
const zeroCopyMin = 16 << 10

// appendFetchFrame frames a Fetch response like appendResponse, but leaves
// large RecordBatches out of the copy: the frame is returned as buffers
// that point at the stored bytes read from the log, so a fetch writes them
// to the socket as they are. It handles what handleFetch produces (no
// aborted transactions, no tagged fields) and reports ok=false otherwise,
// in which case the caller uses kmsg's encoder.
func appendFetchFrame(dst []byte, corr int32, r *kmsg.FetchResponse) (bufs net.Buffers, ok bool) {
	v := r.Version
	flex := v >= 12
	if r.UnknownTags.Len() > 0 || len(r.Brokers) > 0 || v < 4 {
		return nil, false
	}
	for i := range r.Topics {
		t := &r.Topics[i]
		if t.UnknownTags.Len() > 0 {
			return nil, false
		}
		for j := range t.Partitions {
			p := &t.Partitions[j]
			if len(p.AbortedTransactions) > 0 || p.UnknownTags.Len() > 0 ||
				p.DivergingEpoch.Epoch != -1 || p.DivergingEpoch.EndOffset != -1 ||
				p.CurrentLeader.LeaderID != -1 || p.CurrentLeader.LeaderEpoch != -1 ||
				p.SnapshotID.EndOffset != -1 || p.SnapshotID.Epoch != -1 {
				return nil, false
			}
		}
	}
	be := binary.BigEndian
	arrayLen := func(n int) {
		if flex {
			dst = binary.AppendUvarint(dst, uint64(n+1))
		} else {
			dst = be.AppendUint32(dst, uint32(n))
		}
	}
	start := 0
	dst = append(dst, 0, 0, 0, 0)
	dst = be.AppendUint32(dst, uint32(corr))
	if flex {
		dst = append(dst, 0) // response header tags
	}
	dst = be.AppendUint32(dst, uint32(r.ThrottleMillis))
	if v >= 7 {
		dst = be.AppendUint16(dst, uint16(r.ErrorCode))
		dst = be.AppendUint32(dst, uint32(r.SessionID))
	}
	arrayLen(len(r.Topics))
	for i := range r.Topics {
		t := &r.Topics[i]
		if v <= 12 {
			if flex {
				dst = binary.AppendUvarint(dst, uint64(len(t.Topic)+1))
			} else {
				dst = be.AppendUint16(dst, uint16(len(t.Topic)))
			}
			dst = append(dst, t.Topic...)
		} else {
			dst = append(dst, t.TopicID[:]...)
		}
		arrayLen(len(t.Partitions))
		for j := range t.Partitions {
			p := &t.Partitions[j]
			dst = be.AppendUint32(dst, uint32(p.Partition))
			dst = be.AppendUint16(dst, uint16(p.ErrorCode))
			dst = be.AppendUint64(dst, uint64(p.HighWatermark))
			dst = be.AppendUint64(dst, uint64(p.LastStableOffset))
			if v >= 5 {
				dst = be.AppendUint64(dst, uint64(p.LogStartOffset))
			}
			// Aborted transactions: null or empty, as given.
			switch {
			case p.AbortedTransactions == nil && flex:
				dst = append(dst, 0)
			case p.AbortedTransactions == nil:
				dst = be.AppendUint32(dst, 0xffffffff)
			default:
				arrayLen(0)
			}
			if v >= 11 {
				dst = be.AppendUint32(dst, uint32(p.PreferredReadReplica))
			}
			rb := p.RecordBatches
			switch {
			case rb == nil && flex:
				dst = append(dst, 0)
			case rb == nil:
				dst = be.AppendUint32(dst, 0xffffffff)
			case flex:
				dst = binary.AppendUvarint(dst, uint64(len(rb)+1))
			default:
				dst = be.AppendUint32(dst, uint32(len(rb)))
			}
			if len(rb) >= zeroCopyMin {
				bufs = append(bufs, dst[start:])
				bufs = append(bufs, rb)
				start = len(dst)
			} else {
				dst = append(dst, rb...)
			}
			if flex {
				dst = append(dst, 0) // partition tags
			}
		}
		if flex {
			dst = append(dst, 0) // topic tags
		}
	}
	if flex {
		dst = append(dst, 0) // top-level tags
	}
	bufs = append(bufs, dst[start:])
	size := 0
	for _, b := range bufs {
		size += len(b)
	}
	be.PutUint32(bufs[0], uint32(size-4))
	return bufs, true
}
