package pubsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// AnyType registers a handler for every event of a topic that no handler
// of its own type takes (including records without ce_type).
const AnyType = "*"

// HandlerFunc handles one event. Returning nil acknowledges it (commit on
// a classic group, accept on a share group).
type HandlerFunc func(ctx context.Context, ev *Event) error

// Middleware wraps a handler.
type Middleware func(HandlerFunc) HandlerFunc

// Typed returns a handler that decodes the event's JSON data into a T and
// calls fn. A decoding error is Permanent.
func Typed[T any](fn func(context.Context, T) error) HandlerFunc {
	return func(ctx context.Context, ev *Event) error {
		var v T
		if err := ev.Decode(&v); err != nil {
			return err
		}
		return fn(ctx, v)
	}
}

// RouterOpt configures NewRouter.
type RouterOpt interface{ apply(*routerCfg) }

type routerOpt func(*routerCfg)

func (f routerOpt) apply(c *routerCfg) { f(c) }

type routerCfg struct {
	share    bool
	kopts    []kgo.Opt
	logger   *slog.Logger
	maxPoll  int
	shutdown time.Duration
	schemas  *Schemas
	keyConc  int
	// commitEvery: CommitInterval (0: commit after every poll).
	commitEvery time.Duration
}

// ShareGroup runs the router as a member of a share group (KIP-932)
// instead of a classic consumer group: records are acknowledged one by
// one (accept on success; release on an error, so the broker delivers
// them again with its backoff; reject on a Permanent error), and several
// members share each partition. Configure the group with
// ConfigureShareGroup. Default: classic consumer group.
func ShareGroup() RouterOpt { return routerOpt(func(c *routerCfg) { c.share = true }) }

// ClientOpts adds kgo options to the router's client (after the router's
// own: seed brokers, group, topics, and on a classic group
// DisableAutoCommit and BlockRebalanceOnPoll, which must stay).
func ClientOpts(opts ...kgo.Opt) RouterOpt {
	return routerOpt(func(c *routerCfg) { c.kopts = append(c.kopts, opts...) })
}

// WithLogger sets the router's logger. Default: slog.Default().
func WithLogger(l *slog.Logger) RouterOpt { return routerOpt(func(c *routerCfg) { c.logger = l }) }

// MaxPollRecords bounds the records handled per poll. Default 500.
func MaxPollRecords(n int) RouterOpt { return routerOpt(func(c *routerCfg) { c.maxPoll = n }) }

// ShutdownTimeout bounds the final commit or acknowledgement flush after
// Run's context is cancelled. Default 10 s.
func ShutdownTimeout(d time.Duration) RouterOpt {
	return routerOpt(func(c *routerCfg) { c.shutdown = d })
}

// Router dispatches the events of topics (or views) to handlers by
// CloudEvents type, on one consumer group or share group.
type Router struct {
	brokers []string
	group   string
	cfg     routerCfg

	mu      sync.Mutex
	routes  map[string]map[string]HandlerFunc
	mws     []Middleware
	ready   chan struct{}
	started bool
}

// NewRouter returns a router for group (a consumer group, or a share
// group with the ShareGroup option) on brokers.
func NewRouter(brokers []string, group string, opts ...RouterOpt) *Router {
	c := routerCfg{logger: slog.Default(), maxPoll: 500, shutdown: 10 * time.Second, keyConc: 1}
	for _, o := range opts {
		o.apply(&c)
	}
	return &Router{brokers: brokers, group: group, cfg: c, routes: map[string]map[string]HandlerFunc{}, ready: make(chan struct{})}
}

// Use adds middleware around every handler; the first added is the
// outermost. Call it before Run.
func (r *Router) Use(mw ...Middleware) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mws = append(r.mws, mw...)
}

var (
	ctxType   = reflect.TypeFor[context.Context]()
	errType   = reflect.TypeFor[error]()
	eventType = reflect.TypeFor[*Event]()
)

// Handle registers h for the events of topic (a topic or a view) whose
// ce_type is typ (AnyType: all others), wrapped in mw (inside the
// router's Use middleware). h is a HandlerFunc, a func(context.Context,
// *Event) error, or a typed func(context.Context, T) error that receives
// the event's JSON data decoded into a T (a decoding error is Permanent).
// Handle panics on any other h or on a second handler for the same topic
// and type, as http.ServeMux does: both are programming errors.
func (r *Router) Handle(topic, typ string, h any, mw ...Middleware) {
	fn := handlerOf(h)
	for i := len(mw) - 1; i >= 0; i-- {
		fn = mw[i](fn)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	byType := r.routes[topic]
	if byType == nil {
		byType = map[string]HandlerFunc{}
		r.routes[topic] = byType
	}
	if _, dup := byType[typ]; dup {
		panic(fmt.Sprintf("pubsub: a handler for topic %q type %q is already registered", topic, typ))
	}
	byType[typ] = fn
}

func handlerOf(h any) HandlerFunc {
	switch f := h.(type) {
	case HandlerFunc:
		return f
	case func(context.Context, *Event) error:
		return f
	}
	v := reflect.ValueOf(h)
	t := v.Type()
	if t.Kind() != reflect.Func || t.NumIn() != 2 || t.NumOut() != 1 || t.In(0) != ctxType || t.Out(0) != errType || t.In(1) == eventType {
		panic(fmt.Sprintf("pubsub: handler of type %v: want func(context.Context, T) error or func(context.Context, *pubsub.Event) error", t))
	}
	arg := t.In(1)
	return func(ctx context.Context, ev *Event) error {
		p := reflect.New(arg)
		if err := ev.Decode(p.Interface()); err != nil {
			return err
		}
		// ctx as a Value of the interface type context.Context: the call
		// then need not check that its dynamic type implements it.
		out := v.Call([]reflect.Value{reflect.ValueOf(&ctx).Elem(), p.Elem()})
		if out[0].IsNil() {
			return nil
		}
		return out[0].Interface().(error)
	}
}

// Ready is closed once Run has created its client and joins the group.
func (r *Router) Ready() <-chan struct{} { return r.ready }

// Run consumes until ctx is cancelled (once per Router), then lets the handlers of the
// records in hand finish (their context is not cancelled with ctx; bound
// them with Timeout), commits (classic group) or flushes the
// acknowledgements (share group), leaves the group and returns nil.
//
// On a classic group the records of a partition are handled in order
// (per key with KeyConcurrency) and partitions in parallel; an error that reaches the router stops it: the
// offsets before the failed record are committed and Run returns a
// *HandlerError (use DeadLetter to keep going past failed records). On a
// share group the records of a poll are handled in parallel per partition
// and an error releases (or, when Permanent, rejects) the record.
func (r *Router) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return errors.New("router: Run called twice; make a new Router")
	}
	r.started = true
	routes := make(map[string]map[string]HandlerFunc, len(r.routes))
	var topics []string
	for topic, byType := range r.routes {
		topics = append(topics, topic)
		m := make(map[string]HandlerFunc, len(byType))
		for typ, h := range byType {
			for i := len(r.mws) - 1; i >= 0; i-- {
				h = r.mws[i](h)
			}
			m[typ] = h
		}
		routes[topic] = m
	}
	r.mu.Unlock()
	if len(topics) == 0 {
		return errors.New("router: no handlers registered")
	}
	sort.Strings(topics)
	opts := []kgo.Opt{kgo.SeedBrokers(r.brokers...), kgo.ConsumeTopics(topics...)}
	if r.cfg.share {
		opts = append(opts, kgo.ShareGroup(r.group))
	} else {
		opts = append(opts, kgo.ConsumerGroup(r.group), kgo.BlockRebalanceOnPoll())
		opts = append(opts, r.classicCommitOpts()...)
	}
	opts = append(opts, r.cfg.kopts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("router %s: new client: %w", r.group, err)
	}
	defer cl.Close()
	close(r.ready)
	if r.cfg.share {
		return r.runShare(ctx, cl, routes)
	}
	return r.runClassic(ctx, cl, routes)
}

func (r *Router) handler(routes map[string]map[string]HandlerFunc, ev *Event) HandlerFunc {
	byType := routes[ev.Topic]
	if h, ok := byType[ev.Type]; ok {
		return h
	}
	return byType[AnyType]
}

// handlersOf returns the handler of each event of evs (nil: none);
// consecutive events of one topic and type, the usual case, share one
// lookup.
func (r *Router) handlersOf(hs []HandlerFunc, routes map[string]map[string]HandlerFunc, evs []Event) []HandlerFunc {
	hs = hs[:len(evs)]
	var topic, typ string
	var h HandlerFunc
	for i := range evs {
		ev := &evs[i]
		if i == 0 || ev.Type != typ || ev.Topic != topic {
			topic, typ, h = ev.Topic, ev.Type, r.handler(routes, ev)
		}
		hs[i] = h
	}
	return hs
}

// poll returns the next records, or done when the router must stop.
func (r *Router) poll(ctx context.Context, cl *kgo.Client) (fs kgo.Fetches, done bool) {
	fs = cl.PollRecords(ctx, r.cfg.maxPoll)
	if ctx.Err() != nil {
		return fs, true
	}
	for _, fe := range fs.Errors() {
		if errors.Is(fe.Err, kgo.ErrClientClosed) {
			return fs, true
		}
		if errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded) {
			continue
		}
		r.cfg.logger.Warn("router fetch error", "group", r.group, "topic", fe.Topic, "partition", fe.Partition, "err", fe.Err)
	}
	return fs, false
}

func (r *Router) runClassic(ctx context.Context, cl *kgo.Client, routes map[string]map[string]HandlerFunc) error {
	hctx := context.WithoutCancel(ctx)
	for {
		fs, done := r.poll(ctx, cl)
		if done {
			// Records polled together with the cancellation are not
			// handled (nor committed): the next member gets them.
			return r.finishClassic(cl, nil)
		}
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			commit  []*kgo.Record
			failure *HandlerError
		)
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) == 0 {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := dispatcher{group: r.group, schemas: r.cfg.schemas}
				sl := getSlab(len(p.Records))
				defer putSlab(sl)
				evs := d.events(sl.evs, p.Records)
				hs := r.handlersOf(sl.hs, routes, evs)
				fail := laneFailure{idx: -1}
				runLanes(evs, r.cfg.keyConc, func(i int) bool {
					ev := &evs[i]
					if h := hs[i]; h != nil {
						if err := h(hctx, ev); err != nil {
							fail.set(i, err)
							return false
						}
					}
					return true
				})
				done := len(p.Records)
				if fail.idx >= 0 {
					done = fail.idx
					ev := &evs[fail.idx]
					mu.Lock()
					if failure == nil {
						failure = &HandlerError{Topic: ev.Topic, Partition: ev.Partition, Offset: ev.Offset, Type: ev.Type, Err: fail.err}
					}
					mu.Unlock()
				}
				if done > 0 {
					mu.Lock()
					commit = append(commit, p.Records[done-1])
					mu.Unlock()
				}
			}()
		})
		wg.Wait()
		if failure != nil {
			return r.finishClassic(cl, commit, failure)
		}
		if len(commit) > 0 {
			cctx, cancel := context.WithTimeout(hctx, r.cfg.shutdown)
			err := r.commit(cctx, cl, commit, false)
			cancel()
			if err != nil {
				r.cfg.logger.Warn("router commit", "group", r.group, "err", err)
			}
		}
		cl.AllowRebalance()
	}
}

// finishClassic commits the records given, leaves the group and returns
// the errors.
func (r *Router) finishClassic(cl *kgo.Client, commit []*kgo.Record, errs ...error) error {
	if len(commit) > 0 || r.cfg.commitEvery > 0 {
		cctx, cancel := context.WithTimeout(context.Background(), r.cfg.shutdown)
		if err := r.commit(cctx, cl, commit, true); err != nil {
			errs = append(errs, fmt.Errorf("router %s: final commit: %w", r.group, err))
		}
		cancel()
	}
	cl.AllowRebalance()
	var all []error
	for _, e := range errs {
		if e != nil {
			all = append(all, e)
		}
	}
	return errors.Join(all...)
}

func (r *Router) runShare(ctx context.Context, cl *kgo.Client, routes map[string]map[string]HandlerFunc) error {
	hctx := context.WithoutCancel(ctx)
	for {
		fs, done := r.poll(ctx, cl)
		if done {
			// Records polled with the cancellation are released on Close.
			fctx, cancel := context.WithTimeout(context.Background(), r.cfg.shutdown)
			defer cancel()
			cl.MarkAcks(kgo.AckRelease)
			cl.FlushAcks(fctx)
			return nil
		}
		var wg sync.WaitGroup
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) == 0 {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := dispatcher{group: r.group, share: true, schemas: r.cfg.schemas}
				sl := getSlab(len(p.Records))
				defer putSlab(sl)
				evs := d.events(sl.evs, p.Records)
				hs := r.handlersOf(sl.hs, routes, evs)
				runLanes(evs, r.cfg.keyConc, func(i int) bool {
					ev, rec, h := &evs[i], p.Records[i], hs[i]
					var err error
					if h != nil {
						err = h(hctx, ev)
					}
					switch {
					case err == nil:
						rec.Ack(kgo.AckAccept)
					case IsPermanent(err):
						r.cfg.logger.Warn("router reject", eventAttrs(ev, "err", err)...)
						rec.Ack(kgo.AckReject)
					default:
						r.cfg.logger.Info("router release", eventAttrs(ev, "err", err)...)
						rec.Ack(kgo.AckRelease)
					}
					return true
				})
			}()
		})
		wg.Wait()
		fctx, cancel := context.WithTimeout(hctx, r.cfg.shutdown)
		cl.FlushAcks(fctx)
		cancel()
	}
}

// eventAttrs are the slog key-value pairs describing ev, then more.
func eventAttrs(ev *Event, more ...any) []any {
	return append([]any{"group", ev.Group, "topic", ev.Topic, "partition", ev.Partition, "offset", ev.Offset,
		"ce_id", ev.ID, "ce_type", ev.Type}, more...)
}
