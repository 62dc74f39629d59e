package eventstore

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrDropped is wrapped by the error a subscription returns when the
// server cut it off (a slow subscriber, or shutdown) and SubscribeOptions
// disabled reconnecting.
var ErrDropped = errors.New("subscription dropped by the server")

// SubscribeOptions tunes Subscribe.
type SubscribeOptions struct {
	// From is the first version to deliver; default 0.
	From int64
	// NoReconnect makes Subscribe return when the connection ends instead
	// of reconnecting from the last delivered event. Default: reconnect.
	NoReconnect bool
	// ReconnectDelay is the pause before reconnecting; default 500 ms.
	ReconnectDelay time.Duration
}

// Subscribe calls fn for every event of stream from o.From on: first the
// stored ones, then each new one as it is appended. It reconnects after a
// dropped connection, resuming after the last event fn accepted
// (Last-Event-ID), so fn sees each event once and in order. It returns
// when ctx ends (ctx.Err()) or fn returns an error (that error).
func (c *Client) Subscribe(ctx context.Context, topic, stream string, o SubscribeOptions, fn func(RecordedEvent) error) error {
	if o.ReconnectDelay <= 0 {
		o.ReconnectDelay = 500 * time.Millisecond
	}
	next := o.From
	for {
		err := c.subscribeOnce(ctx, topic, stream, next, func(ev RecordedEvent) error {
			if err := fn(ev); err != nil {
				return &handlerError{err}
			}
			next = ev.Version + 1
			return nil
		})
		var he *handlerError
		switch {
		case errors.As(err, &he):
			return he.err
		case ctx.Err() != nil:
			return ctx.Err()
		case o.NoReconnect:
			return err
		}
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Status/100 == 4 {
			return err
		}
		select {
		case <-time.After(o.ReconnectDelay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type handlerError struct{ err error }

// Error returns the handler's error text.
func (e *handlerError) Error() string { return e.err.Error() }

func (c *Client) subscribeOnce(ctx context.Context, topic, stream string, from int64, fn func(RecordedEvent) error) error {
	u := c.streamURL(topic, stream) + "/subscribe?from=" + strconv.FormatInt(from, 10)
	return c.sse(ctx, u, "", func(_ string, ev RecordedEvent) error { return fn(ev) })
}

// SubscribeTopic calls fn for every record of topic (all partitions, each
// in order) from offset from on, then live, reconnecting after dropped
// connections from the last delivered position. Records carry their
// stream version when they have one, -1 otherwise.
func (c *Client) SubscribeTopic(ctx context.Context, topic string, from int64, fn func(RecordedEvent) error) error {
	u := c.base + "/v1/topics/" + url.PathEscape(topic) + "/subscribe?from=" + strconv.FormatInt(from, 10)
	last := ""
	for {
		err := c.sse(ctx, u, last, func(id string, ev RecordedEvent) error {
			if err := fn(ev); err != nil {
				return &handlerError{err}
			}
			last = id
			return nil
		})
		var he *handlerError
		switch {
		case errors.As(err, &he):
			return he.err
		case ctx.Err() != nil:
			return ctx.Err()
		}
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Status/100 == 4 {
			return err
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sse reads one Server-Sent-Events response, calling fn per event.
func (c *Client) sse(ctx context.Context, u, lastID string, fn func(id string, ev RecordedEvent) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := c.roundTrip(req)
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return decodeError(resp.StatusCode, raw)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var id, event, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if event == "dropped" {
				return fmt.Errorf("%w: %s", ErrDropped, data)
			}
			if data != "" {
				var ev RecordedEvent
				if err := json.Unmarshal([]byte(data), &ev); err != nil {
					return fmt.Errorf("decode event: %w", err)
				}
				if err := fn(id, ev); err != nil {
					return err
				}
			}
			event, data = "", ""
		case strings.HasPrefix(line, "id:"):
			id = strings.TrimSpace(line[3:])
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(line[6:])
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimPrefix(line[5:], " ")
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("subscription stream: %w", err)
	}
	return fmt.Errorf("%w: connection closed", ErrDropped)
}
