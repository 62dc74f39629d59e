package eventstore

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
		select {
		case <-time.After(o.ReconnectDelay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }

func (c *Client) subscribeOnce(ctx context.Context, topic, stream string, from int64, fn func(RecordedEvent) error) error {
	u := c.streamURL(topic, stream) + "/subscribe?from=" + strconv.FormatInt(from, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("subscribe %s/%s: %w", topic, stream, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var raw [4096]byte
		n, _ := resp.Body.Read(raw[:])
		return decodeError(resp.StatusCode, raw[:n])
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var event, data string
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
				if err := fn(ev); err != nil {
					return err
				}
			}
			event, data = "", ""
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
