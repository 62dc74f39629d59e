package eventstore_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/eddy-streaming/eddy/sdk/eventstore"
)

// Order is an aggregate rebuilt from its stream.
type Order struct {
	Total float64
	Paid  bool
}

// Apply changes the order by one event.
func (o *Order) Apply(ev eventstore.RecordedEvent) error {
	switch ev.Type {
	case "OrderCreated":
		var d struct{ Total float64 }
		if err := ev.Decode(&d); err != nil {
			return err
		}
		o.Total = d.Total
	case "OrderPaid":
		o.Paid = true
	}
	return nil
}

// The tutorial's Append / GetEvents / RebuildAggregate, with optimistic
// concurrency. (Not run: it needs a server on localhost:8080.)
func Example() {
	ctx := context.Background()
	c, err := eventstore.New("http://localhost:8080")
	if err != nil {
		return
	}
	ev, _ := eventstore.NewEvent("OrderCreated", map[string]any{"total": 99.5})
	_, err = c.Append(ctx, "orders", "order-42", eventstore.NoStream{}, ev)
	var wev *eventstore.WrongExpectedVersionError
	if errors.As(err, &wev) {
		fmt.Println("order-42 already exists at version", wev.Actual)
	}

	events, version, err := c.ReadAll(ctx, "orders", "order-42", 0)
	fmt.Println(len(events), version, err)

	repo := eventstore.NewRepository(c, "orders", func() *Order { return &Order{} })
	_, err = repo.Update(ctx, "order-42", func(o *Order) ([]eventstore.EventData, error) {
		if o.Paid {
			return nil, nil
		}
		ev, err := eventstore.NewEvent("OrderPaid", map[string]any{"amount": o.Total})
		return []eventstore.EventData{ev}, err
	})
	fmt.Println(err)
}

func ExampleMaxIdleConns() {
	// 200 goroutines append at once: a keep-alive connection each, kept
	// between their requests instead of dialed anew.
	store, err := eventstore.New("http://localhost:8080", eventstore.MaxIdleConns(200))
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = store
}
