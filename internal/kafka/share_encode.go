package kafka

import (
	"encoding/binary"
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// appendShareFetchFrame frames a ShareFetch response like appendResponse,
// but leaves large Records out of the copy, as appendFetchFrame does for
// Fetch: the stored batches read for the acquired records go to the
// socket as they are. It reports ok=false for what it does not handle
// (versions before 1, tagged fields), in which case the caller uses
// kmsg's encoder.
func appendShareFetchFrame(dst []byte, corr int32, r *kmsg.ShareFetchResponse) (bufs net.Buffers, ok bool) {
	if r.Version < 1 || r.UnknownTags.Len() > 0 {
		return nil, false
	}
	for i := range r.Topics {
		t := &r.Topics[i]
		if t.UnknownTags.Len() > 0 {
			return nil, false
		}
		for j := range t.Partitions {
			p := &t.Partitions[j]
			if p.UnknownTags.Len() > 0 || p.CurrentLeader.UnknownTags.Len() > 0 {
				return nil, false
			}
			for k := range p.AcquiredRecords {
				if p.AcquiredRecords[k].UnknownTags.Len() > 0 {
					return nil, false
				}
			}
		}
	}
	for i := range r.NodeEndpoints {
		if r.NodeEndpoints[i].UnknownTags.Len() > 0 {
			return nil, false
		}
	}
	be := binary.BigEndian
	uv := func(n int) { dst = binary.AppendUvarint(dst, uint64(n)) }
	str := func(s string) { uv(len(s) + 1); dst = append(dst, s...) }
	nstr := func(s *string) {
		if s == nil {
			uv(0)
			return
		}
		str(*s)
	}
	start := 0
	dst = append(dst, 0, 0, 0, 0)
	dst = be.AppendUint32(dst, uint32(corr))
	dst = append(dst, 0) // response header tags
	dst = be.AppendUint32(dst, uint32(r.ThrottleMillis))
	dst = be.AppendUint16(dst, uint16(r.ErrorCode))
	nstr(r.ErrorMessage)
	dst = be.AppendUint32(dst, uint32(r.AcquisitionLockTimeoutMillis))
	uv(len(r.Topics) + 1)
	for i := range r.Topics {
		t := &r.Topics[i]
		dst = append(dst, t.TopicID[:]...)
		uv(len(t.Partitions) + 1)
		for j := range t.Partitions {
			p := &t.Partitions[j]
			dst = be.AppendUint32(dst, uint32(p.Partition))
			dst = be.AppendUint16(dst, uint16(p.ErrorCode))
			nstr(p.ErrorMessage)
			dst = be.AppendUint16(dst, uint16(p.AcknowledgeErrorCode))
			nstr(p.AcknowledgeErrorMessage)
			dst = be.AppendUint32(dst, uint32(p.CurrentLeader.LeaderID))
			dst = be.AppendUint32(dst, uint32(p.CurrentLeader.LeaderEpoch))
			dst = append(dst, 0) // current leader tags
			rb := p.Records
			if rb == nil {
				uv(0)
			} else {
				uv(len(rb) + 1)
			}
			if len(rb) >= zeroCopyMin {
				bufs = append(bufs, dst[start:], rb)
				start = len(dst)
			} else {
				dst = append(dst, rb...)
			}
			uv(len(p.AcquiredRecords) + 1)
			for k := range p.AcquiredRecords {
				a := &p.AcquiredRecords[k]
				dst = be.AppendUint64(dst, uint64(a.FirstOffset))
				dst = be.AppendUint64(dst, uint64(a.LastOffset))
				dst = be.AppendUint16(dst, uint16(a.DeliveryCount))
				dst = append(dst, 0) // acquired records tags
			}
			dst = append(dst, 0) // partition tags
		}
		dst = append(dst, 0) // topic tags
	}
	uv(len(r.NodeEndpoints) + 1)
	for i := range r.NodeEndpoints {
		n := &r.NodeEndpoints[i]
		dst = be.AppendUint32(dst, uint32(n.NodeID))
		str(n.Host)
		dst = be.AppendUint32(dst, uint32(n.Port))
		nstr(n.Rack)
		dst = append(dst, 0) // node endpoint tags
	}
	dst = append(dst, 0) // top-level tags
	bufs = append(bufs, dst[start:])
	size := 0
	for _, b := range bufs {
		size += len(b)
	}
	be.PutUint32(bufs[0], uint32(size-4))
	return bufs, true
}
