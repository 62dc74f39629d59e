package kafka

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/broker"
)

// Fetch: v4-16
//
// Behaviour:
//   - Returns stored batches as they are (the producer's codec, never
//     recompressed), starting with the batch holding the fetch offset.
//   - MaxBytes (capped by the server's fetch max bytes, 55 MiB by default)
//     and PartitionMaxBytes limit the response, except that the
//     first non-empty partition always returns at least one whole batch
//     (KIP-74); later partitions are skipped once the budget is spent.
//   - Long-poll: when fewer than MinBytes are available the request parks
//     (on broker.Waiter, no polling) until a write reaches one of its
//     partitions' high watermark, MaxWaitMillis passes, or the server
//     shuts down. Errors answer at once.
//   - A request naming a partition twice gets INVALID_REQUEST.
//   - OFFSET_OUT_OF_RANGE below the log start or above the log end offset;
//     at the high watermark the partition is simply empty.
//   - Fetch sessions (KIP-227) are declined: every response has SessionID 0,
//     which franz-go and the Java client treat as "no session, keep
//     sending full fetches"; librdkafka never asks for one. A request
//     naming a session id gets FETCH_SESSION_ID_NOT_FOUND (the client
//     resets to a full fetch), a new-session request with an epoch other
//     than 0 or -1 INVALID_FETCH_SESSION_EPOCH.
//   - read_committed equals read_uncommitted: there are no transactions,
//     so LastStableOffset is the high watermark.
//   - Authorization: READ on each topic (a view is read as a topic of its
//     name), else TOPIC_AUTHORIZATION_FAILED on its partitions.
//
// Version notes: v4 is Kafka 4's minimum (IsolationLevel, LSO, aborted
// txns); v5 LogStartOffset; v7 sessions; v11 rack, PreferredReadReplica;
// v12 flexible; v13 topic ids instead of names (unknown id:
// UNKNOWN_TOPIC_ID).
func init() { Register(kmsg.Fetch, 4, 16, handleFetch) }

type fetchPart struct {
	topic    string
	known    bool
	denied   bool // no READ on the topic
	offset   int64
	maxBytes int32
	out      *kmsg.FetchResponseTopicPartition
	// view: the topic is a view, whose partitions are scanned in
	// parallel (fetch_views.go).
	view bool
}

func handleFetch(ctx context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.FetchRequest)
	resp := r.ResponseKind().(*kmsg.FetchResponse)
	resp.SessionID = 0
	if r.SessionID != 0 {
		resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		s.countErr(req, resp.ErrorCode)
		return Respond(resp)
	}
	if r.SessionEpoch != 0 && r.SessionEpoch != -1 {
		resp.ErrorCode = kerr.InvalidFetchSessionEpoch.Code
		s.countErr(req, resp.ErrorCode)
		return Respond(resp)
	}

	if dup := duplicateFetchPartition(r); dup != "" {
		// Kafka keeps one entry per partition; answering a partition
		// twice would let one small request amplify into many copies of
		// the same data.
		resp.ErrorCode = kerr.InvalidRequest.Code
		s.metrics.guard.refused.WithLabelValues("duplicate_partitions").Inc()
		s.countErr(req, resp.ErrorCode)
		return Respond(resp)
	}
	var parts []fetchPart
	resp.Topics = make([]kmsg.FetchResponseTopic, len(r.Topics))
	for i, rt := range r.Topics {
		t := &resp.Topics[i]
		t.Default()
		t.Topic, t.TopicID = rt.Topic, rt.TopicID
		name, known := rt.Topic, true
		if r.Version >= 13 {
			name, known = s.b.TopicByID(rt.TopicID)
		}
		denied := known && !s.allowed(req, opRead, rtTopic, name)
		t.Partitions = make([]kmsg.FetchResponseTopicPartition, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			p := &t.Partitions[j]
			p.Default()
			p.Partition = rp.Partition
			parts = append(parts, fetchPart{topic: name, known: known, denied: denied, offset: rp.FetchOffset, maxBytes: rp.PartitionMaxBytes, out: p,
				view: known && !denied && s.b.IsView(name)})
		}
	}

	// Batches are read into pooled buffers, returned once the response
	// has been written (Reply.release).
	var bufs []*[]byte
	releaseBufs := func() {
		for _, b := range bufs {
			putFetchBuf(b)
		}
		bufs = bufs[:0]
	}
	maxBytes := int64(s.cfg.FetchMaxBytes)
	if r.MaxBytes > 0 {
		maxBytes = min(maxBytes, int64(r.MaxBytes))
	}
	read := func() (total int64, errs bool) {
		releaseBufs() // a re-read replaces every partition's batches
		remaining := maxBytes
		pre := s.prefetchViews(parts, maxBytes)
		for i := range parts {
			fp := &parts[i]
			p := fp.out
			p.ErrorCode, p.RecordBatches = 0, []byte{}
			p.HighWatermark, p.LastStableOffset, p.LogStartOffset = -1, -1, -1
			if !fp.known {
				p.ErrorCode = kerr.UnknownTopicID.Code
				errs = true
				continue
			}
			if fp.denied {
				p.ErrorCode = kerr.TopicAuthorizationFailed.Code
				errs = true
				continue
			}
			limit := int64(fp.maxBytes)
			if limit > remaining {
				limit = remaining
			}
			if total > 0 && limit <= 0 {
				// Budget spent: report offsets only.
				if start, hw, _, err := s.b.Offsets(fp.topic, p.Partition); err == nil {
					p.HighWatermark, p.LastStableOffset, p.LogStartOffset = hw, hw, start
				}
				continue
			}
			if limit <= 0 {
				limit = 1
			}
			var buf *[]byte
			var res broker.FetchResult
			var err error
			if pre != nil && pre[i].buf != nil {
				buf, res, err = pre[i].buf, pre[i].res, pre[i].err
				pre[i].buf = nil
			} else {
				buf = getFetchBuf()
				res, err = s.b.FetchInto(*buf, fp.topic, p.Partition, fp.offset, int(limit))
			}
			if cap(res.Batches) > 0 {
				*buf = res.Batches[:0] // keep what ReadInto grew
			}
			bufs = append(bufs, buf)
			p.HighWatermark, p.LastStableOffset, p.LogStartOffset = res.HighWatermark, res.HighWatermark, res.LogStartOffset
			if err != nil {
				p.ErrorCode = ErrorCode(err)
				errs = true
				continue
			}
			n := int64(len(res.Batches))
			if total > 0 && n > remaining {
				// Only the first non-empty partition may exceed the
				// limits (KIP-74).
				continue
			}
			if res.Filler == len(res.Batches) && fillerOnlyCrashes(req.ClientID) {
				n, res.Batches, res.Filler = 0, nil, 0 // see fetch_views.go
			}
			if n > 0 {
				p.RecordBatches = res.Batches
			}
			total += n - int64(res.Filler) // a view's filler is not data (MinBytes)
			remaining -= n
		}
		for i := range pre {
			if pre[i].buf != nil { // scanned, but the budget was spent first
				putFetchBuf(pre[i].buf)
			}
		}
		return total, errs
	}
	finish := func() Reply {
		for i := range parts {
			s.countErr(req, parts[i].out.ErrorCode)
		}
		r := Respond(resp)
		held := append([]*[]byte(nil), bufs...)
		r.release = func() {
			for _, b := range held {
				putFetchBuf(b)
			}
		}
		return r
	}

	wait := time.Duration(r.MaxWaitMillis) * time.Millisecond
	if wait <= 0 || r.MinBytes <= 0 || len(parts) == 0 {
		read()
		return finish()
	}
	// Park without a goroutine: the partitions' waiter calls back on the
	// goroutine that advanced a high watermark, which re-reads and, once
	// MinBytes are there, answers (and writes the response if it is next
	// in line). A timer and the connection's ctx end the wait otherwise.
	// Watch before the first read so a write landing in between still
	// calls back.
	pk := &parkedFetch{}
	w := s.b.NewWaiterFunc(pk.wake)
	for i := range parts {
		if parts[i].known && !parts[i].denied {
			w.Add(parts[i].topic, parts[i].out.Partition)
		}
	}
	total, errs := read()
	if errs || total >= int64(r.MinBytes) {
		w.Close()
		return finish()
	}
	return DeferCallback(func(done func(Reply)) {
		pk.park(ctx, wait, w, func(final bool) bool {
			total, errs := read()
			if final || errs || total >= int64(r.MinBytes) {
				done(finish())
				return true
			}
			return false
		})
	})
}

// parkedFetch is the state of a fetch waiting for data: wake-ups from the
// waiter (possibly concurrent), the MaxWait timer and ctx all funnel into
// check, one at a time; a wake-up that arrives while check runs makes it
// run again, so no write is missed.
type parkedFetch struct {
	mu       sync.Mutex
	started  bool // park ran: wake-ups before it are replayed by it
	running  bool // a goroutine is inside check
	again    bool // a wake-up arrived while running
	finished bool
	final    bool // the timer or ctx ended the wait
	check    func(final bool) bool
	cleanup  func()
}

// park arms the timer and ctx and runs a first check (a write may have
// landed since the handler's read).
func (pk *parkedFetch) park(ctx context.Context, wait time.Duration, w *broker.Waiter, check func(final bool) bool) {
	timer := time.AfterFunc(wait, pk.end)
	stopCtx := context.AfterFunc(ctx, pk.end)
	pk.mu.Lock()
	pk.check = check
	pk.cleanup = func() {
		timer.Stop()
		stopCtx()
		w.Close()
	}
	pk.started = true
	pk.mu.Unlock()
	pk.wake()
}

// end is the timer's and ctx's: answer with what there is.
func (pk *parkedFetch) end() {
	pk.mu.Lock()
	pk.final = true
	pk.mu.Unlock()
	pk.wake()
}

// wake runs check unless the fetch was answered; concurrent calls make
// the running one check again instead of running alongside it.
func (pk *parkedFetch) wake() {
	pk.mu.Lock()
	if !pk.started || pk.finished {
		pk.mu.Unlock()
		return
	}
	if pk.running {
		pk.again = true
		pk.mu.Unlock()
		return
	}
	pk.running = true
	for {
		pk.again = false
		final := pk.final
		pk.mu.Unlock()
		answered := pk.check(final)
		pk.mu.Lock()
		if answered {
			pk.finished, pk.running = true, false
			cleanup := pk.cleanup
			pk.mu.Unlock()
			cleanup()
			return
		}
		if !pk.again && !pk.final {
			pk.running = false
			pk.mu.Unlock()
			return
		}
	}
}

// fetchBufs pools the buffers fetches read stored batches into, so a busy
// consumer does not allocate its data volume in garbage.
var fetchBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// maxPooledFetchBuf keeps one unusually large read from pinning memory.
const maxPooledFetchBuf = 8 << 20

func getFetchBuf() *[]byte { return fetchBufs.Get().(*[]byte) }

func putFetchBuf(b *[]byte) {
	if cap(*b) > maxPooledFetchBuf {
		return
	}
	*b = (*b)[:0]
	fetchBufs.Put(b)
}
