package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/auth"
)

// conn is one client connection: readLoop decodes requests and runs their
// handlers in order; writeLoop writes the replies in the same order.
type conn struct {
	s      *Server
	nc     net.Conn
	info   ConnInfo
	ctx    context.Context
	cancel context.CancelFunc
	// w is the reply queue (conn_write.go).
	w writeState
	// slots caps the requests read ahead of their replies
	// (MaxInflightPerConn): the reader takes one per request, writing or
	// dropping the reply returns it.
	slots chan struct{}
	// wake signals the writer goroutine (capacity 1).
	wake chan struct{}
	// deferred tracks Defer goroutines.
	deferred sync.WaitGroup
	// hold is what the connection holds of the server's limits
	// (conn_read.go).
	hold connHold
	// stopOnce guards stopReading.
	stopOnce sync.Once
	stopping chan struct{}
}

// pending is a request whose response has not been written yet.
type pending struct {
	corr     int32
	key      int16
	version  int16
	api      *apiEntry
	start    time.Time
	reply    Reply
	budgeted int64
	// unsent is the record bytes of a ready fetch reply not yet written.
	unsent int64
	// ready: reply is final and can be written; dropped: the reply will
	// not be written (the connection failed). Both guarded by c.w.mu once
	// the pending is queued.
	ready, dropped bool
	// frame is the pooled request buffer of a Produce request, returned
	// to the pool once the reply is written (nothing keeps produce bytes
	// past the reply: the log copies them with pwrite).
	frame *[]byte
}

func newConn(s *Server, nc net.Conn, bl *boundListener) *conn {
	c := &conn{s: s, nc: nc, slots: make(chan struct{}, s.cfg.MaxInflightPerConn), wake: make(chan struct{}, 1), stopping: make(chan struct{})}
	c.hold.freed, c.hold.drained = make(chan struct{}, 1), make(chan struct{}, 1)
	c.info = ConnInfo{ID: s.nextConnID.Add(1), Remote: nc.RemoteAddr(), Local: nc.LocalAddr(), Host: remoteHost(nc.RemoteAddr()), Principal: auth.Anonymous, sec: newConnSecurity(c, bl)}
	c.ctx, c.cancel = context.WithCancel(s.ctx)
	return c
}

// stopReading makes the reader stop at the next frame boundary (or now, if
// it is blocked reading), leaving in-flight requests to finish.
func (c *conn) stopReading() {
	c.stopOnce.Do(func() {
		close(c.stopping)
		_ = c.nc.SetReadDeadline(time.Now())
	})
}

func (c *conn) debug(msg string, args ...any) {
	c.s.log.Debug(msg, append([]any{"conn", c.info.ID, "remote", c.info.Remote.String()}, args...)...)
}

func (c *conn) readLoop() {
	defer c.s.connWG.Done()
	defer c.readerDone()
	defer func() {
		// The client is gone (or broke the protocol): parked fetches and
		// other deferred work need not run to their timeouts. A graceful
		// stop (stopReading) instead lets them answer; shutdown cancels
		// them through the server context.
		select {
		case <-c.stopping:
		default:
			c.cancel()
		}
	}()
	// One buffered read takes the size and, for the small requests that
	// make up most traffic (fetches, metadata, heartbeats, small
	// produces), the whole body, often several pipelined requests at once:
	// one read syscall instead of two per request. Bodies are still copied
	// out into their own frame (the reader's buffer is reused for the next
	// read, so nothing decoded may point into it); a body larger than the
	// buffer is read straight into its frame.
	if !c.startTLS() {
		return
	}
	ir := newIdleReader(c.nc) // idlebuf.go; a TLS connection keeps its buffer
	defer ir.release()
	var size [4]byte
	for {
		if c.s.cfg.IdleTimeout > 0 {
			// Set before checking stopping: stopReading closes stopping
			// and then moves the deadline to now, so either order ends
			// the read.
			_ = c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
		} else if c.s.cfg.FrameTimeout > 0 {
			_ = c.nc.SetReadDeadline(time.Time{}) // the last frame's
		}
		select {
		case <-c.stopping:
			return
		default:
		}
		ir.waitIdle(c.nc)
		br := ir.br
		if _, err := io.ReadFull(br, size[:]); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, context.Canceled) {
				c.debug("kafka read", "err", err)
			}
			return
		}
		n := int32(binary.BigEndian.Uint32(size[:]))
		if c.info.sec.state == stateRaw {
			if !c.rawSASL(br, n) {
				return
			}
			continue
		}
		if n < 8 || n > c.s.cfg.MaxRequestBytes || (n > maxPreAuthFrame && c.info.sec.preAuth()) {
			// Kafka closes the connection (InvalidReceiveException) before
			// allocating anything for an oversized or impossible frame.
			c.s.metrics.badFrames.Inc()
			c.s.log.Warn("kafka frame rejected, closing connection", "conn", c.info.ID, "remote", c.info.Remote.String(), "size", n, "max_request_bytes", c.s.cfg.MaxRequestBytes)
			return
		}
		frame, pre, err := c.readFrame(br, n)
		if err != nil {
			c.debug("kafka read body", "err", err)
			return
		}
		body := (*frame)[:n]
		c.s.metrics.bytesIn.Add(float64(n) + 4)
		p, ok := c.handle(body, pre)
		if !ok {
			c.releaseBytes(pre)
			return
		}
		if p == nil {
			c.releaseBytes(pre)
			continue
		}
		if p.key == int16(kmsg.Produce) {
			// Only produce frames go back to the pool: other requests'
			// decoded fields (group metadata, assignments) may alias the
			// frame and outlive the reply.
			p.frame = frame
		}
		if p.reply.resp != nil {
			c.holdUnsent(p)
		}
		// A small request with nothing more buffered behind it: the
		// reader may run its durability wait itself (see enqueue).
		c.enqueue(p, n < inlineWaitFrame && br.Buffered() == 0)
		if c.info.sec.closing {
			// The reply (a failed login) is written, then the
			// connection closes.
			c.stopReading()
			return
		}
		if !c.waitUnsent() {
			return
		}
	}
}

// inlineWaitFrame is the request size below which the reader runs a
// produce's durability wait itself when no other request is buffered:
// small requests are the per-request-cost regime (a producer at linger 0),
// where handing the wait to the writer goroutine costs a wake-up per
// request. Larger ones keep the reader reading while the writer waits, so
// a big produce streams in during the previous one's fsync.
const inlineWaitFrame = 16 << 10

// readBufSize is the connection reader's buffer: big enough for a batch of
// small pipelined requests, small enough to keep per-connection memory low.
const readBufSize = 8 << 10

// handle decodes one frame and runs its handler; budgeted is what the
// reader already took from the produce budget for it. It returns ok=false
// to close the connection (the caller then releases budgeted).
func (c *conn) handle(body []byte, budgeted int64) (p *pending, ok bool) {
	start := time.Now()
	hdr, rest, err := parseHeader(body)
	if err != nil {
		c.s.metrics.badFrames.Inc()
		c.debug("kafka bad request header, closing", "err", err)
		return nil, false
	}
	p = &pending{corr: hdr.corr, key: hdr.key, version: hdr.version, start: start, budgeted: budgeted}
	api := lookupAPI(hdr.key)
	if api == nil {
		c.s.metrics.badFrames.Inc()
		c.debug("kafka unknown api key, closing", "key", hdr.key, "version", hdr.version)
		return nil, false
	}
	p.api = api
	if !c.info.sec.allows(hdr.key) {
		// Kafka closes a SASL connection that sends anything else before
		// authenticating, without answering (IllegalSaslStateException).
		c.s.metrics.badFrames.Inc()
		c.s.log.Info("kafka request before SASL authentication, closing connection", "conn", c.info.ID, "remote", c.info.Remote.String(), "api", api.name)
		return nil, false
	}
	if hdr.version < api.min || hdr.version > api.max {
		if hdr.key == int16(kmsg.ApiVersions) {
			// KIP-511: answer in the v0 layout with our ranges so the
			// client can retry with a version we have.
			p.version = 0
			p.reply = Respond(apiVersionsUnsupported())
			c.s.metrics.countErr(api.name, kerr.UnsupportedVersion.Code)
			return p, true
		}
		c.s.metrics.badFrames.Inc()
		c.s.metrics.countErr(api.name, kerr.UnsupportedVersion.Code)
		c.debug("kafka unsupported version, closing", "api", api.name, "version", hdr.version, "min", api.min, "max", api.max)
		return nil, false
	}
	msg := kmsg.RequestForKey(hdr.key)
	msg.SetVersion(hdr.version)
	if err := decodeBody(msg, rest); err != nil {
		c.s.metrics.badFrames.Inc()
		c.debug("kafka undecodable request, closing", "api", api.name, "version", hdr.version, "err", err)
		return nil, false
	}
	req := &Request{Key: hdr.key, Version: hdr.version, CorrelationID: hdr.corr, ClientID: hdr.clientID, Msg: msg, Conn: &c.info, Size: len(body) + 4}
	p.reply = c.call(api, req)
	return p, true
}

// call runs a handler, turning a panic into a closed connection: a bug in
// one handler must not take the server down.
func (c *conn) call(api *apiEntry, req *Request) (r Reply) {
	defer func() {
		if v := recover(); v != nil {
			c.s.log.Error("kafka handler panic", "api", api.name, "version", req.Version, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			r = CloseConn(fmt.Errorf("handler panic: %v", v))
		}
	}()
	return api.handler(c.ctx, c.s, req)
}

func (c *conn) callDeferred(api *apiEntry, fn func(context.Context) Reply) (r Reply) {
	defer func() {
		if v := recover(); v != nil {
			c.s.log.Error("kafka deferred handler panic", "api", api.name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			r = CloseConn(fmt.Errorf("handler panic: %v", v))
		}
	}()
	r = fn(c.ctx)
	if r.later != nil || r.inOrder != nil {
		r = CloseConn(errors.New("deferred handler returned Defer"))
	}
	return r
}

func decodeBody(msg kmsg.Request, b []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("decode panic: %v", v)
		}
	}()
	return msg.ReadFrom(b)
}

// done runs the reply's release hook.
func (r Reply) done() {
	if r.release != nil {
		r.release()
	}
}

// writeResponse frames and writes one response, reusing buf; Fetch and
// ShareFetch responses send stored batches without copying them (writev).
func (c *conn) writeResponse(buf []byte, corr int32, resp kmsg.Response) ([]byte, int64, error) {
	if fr, ok := resp.(*kmsg.FetchResponse); ok {
		if bufs, ok := appendFetchFrame(buf[:0], corr, fr); ok {
			head := bufs[0][:0]
			n, err := c.writeBufs(bufs)
			return head, n, err
		}
	}
	if sr, ok := resp.(*kmsg.ShareFetchResponse); ok {
		if bufs, ok := appendShareFetchFrame(buf[:0], corr, sr); ok {
			head := bufs[0][:0]
			n, err := c.writeBufs(bufs)
			return head, n, err
		}
	}
	buf = appendResponse(buf[:0], corr, resp)
	n, err := c.nc.Write(buf)
	return buf, int64(n), err
}

// appendResponse frames resp: size, correlation id, the response header's
// tagged fields when the version is flexible (never for ApiVersions, whose
// response header stays v0 so clients can parse it before knowing our
// versions), then the body.
func appendResponse(dst []byte, corr int32, resp kmsg.Response) []byte {
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(corr))
	if resp.IsFlexible() && resp.Key() != int16(kmsg.ApiVersions) {
		dst = append(dst, 0)
	}
	dst = resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst, uint32(len(dst)-4))
	return dst
}

type header struct {
	key, version int16
	corr         int32
	clientID     string
}

var errShortHeader = errors.New("request header truncated")

// parseHeader decodes a request header (v1, or v2 with tagged fields when
// the API version is flexible) and returns the body after it.
func parseHeader(b []byte) (header, []byte, error) {
	var h header
	if len(b) < 10 {
		return h, nil, errShortHeader
	}
	be := binary.BigEndian
	h.key = int16(be.Uint16(b))
	h.version = int16(be.Uint16(b[2:]))
	h.corr = int32(be.Uint32(b[4:]))
	l := int16(be.Uint16(b[8:]))
	b = b[10:]
	if l > 0 {
		if int(l) > len(b) {
			return h, nil, errShortHeader
		}
		h.clientID = string(b[:l])
		b = b[l:]
	} else if l < -1 {
		return h, nil, fmt.Errorf("client id length %d", l)
	}
	if isFlexible(h.key, h.version) {
		var err error
		if b, err = skipTags(b); err != nil {
			return h, nil, err
		}
	}
	return h, b, nil
}

// flexibleFrom[key] is the first flexible version of each request key
// (-1: none), computed once so that parsing a header does not allocate a
// request just to ask kmsg.
var flexibleFrom = func() [128]int16 {
	var t [128]int16
	for k := range t {
		t[k] = -1
		msg := kmsg.RequestForKey(int16(k))
		if msg == nil {
			continue
		}
		for v := int16(0); v <= msg.MaxVersion(); v++ {
			msg.SetVersion(v)
			if msg.IsFlexible() {
				t[k] = v
				break
			}
		}
	}
	return t
}()

func isFlexible(key, version int16) bool {
	if key < 0 || int(key) >= len(flexibleFrom) {
		return false
	}
	f := flexibleFrom[key]
	return f >= 0 && version >= f
}

// skipTags skips a tagged-field section.
func skipTags(b []byte) ([]byte, error) {
	n, b, err := uvarint(b)
	if err != nil {
		return nil, err
	}
	for ; n > 0; n-- {
		if _, b, err = uvarint(b); err != nil {
			return nil, err
		}
		var size uint64
		if size, b, err = uvarint(b); err != nil {
			return nil, err
		}
		if size > uint64(len(b)) {
			return nil, errShortHeader
		}
		b = b[size:]
	}
	return b, nil
}

func uvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, errShortHeader
	}
	return v, b[n:], nil
}

// remoteHost is addr's IP address in text form ("" when addr is not a TCP
// address), computed once per connection for ACL host matching.
func remoteHost(addr net.Addr) string {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	return ""
}
