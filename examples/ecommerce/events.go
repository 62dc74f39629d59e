package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/eddy-streaming/eddy/sdk/eventstore"
)

// Topics, groups and the view of the system.
const (
	topicOrders    = "orders"    // the order streams (event store), one stream per order
	topicPayments  = "payments"  // PaymentRequested commands, consumed by a share group
	topicInventory = "inventory" // InventoryReserved / OutOfStock
	topicProcessed = "processed" // the idempotent consumer's processed-event marks
	dlqPayments    = "dlq.payments"
	viewVIP        = "orders.vip"
	vipFilter      = `ce.type == "OrderCreated" && value.total > 1000`

	groupEmail     = "email"
	groupVIP       = "email-vip"
	groupInventory = "inventory"
	groupPayment   = "payment"

	// keyConcurrency is how many orders of one partition the inventory
	// and payment services handle at once (each order's events in
	// order): their handlers wait for durable writes, which the broker's
	// group commit then shares.
	keyConcurrency = 64

	// commitInterval is how often the classic groups (email, VIP email,
	// inventory) commit their offsets, in the background, instead of
	// after every poll (pubsub.CommitInterval).
	commitInterval = 200 * time.Millisecond
)

// Event types (ce_type).
const (
	typeOrderCreated      = "OrderCreated"
	typeOrderPaid         = "OrderPaid"
	typeOrderCancelled    = "OrderCancelled"
	typePaymentRequested  = "PaymentRequested"
	typeInventoryReserved = "InventoryReserved"
	typeOutOfStock        = "OutOfStock"
)

// Item is one line of an order.
type Item struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// OrderCreated starts an order's stream. Version 2 added the optional
// Currency: consumers of version 1 ignore it, and version 2 consumers read
// version 1 events with Currency "" (taken as EUR): a BACKWARD-compatible
// change.
type OrderCreated struct {
	OrderID    string  `json:"orderId"`
	CustomerID string  `json:"customerId"`
	Total      float64 `json:"total"`
	Currency   string  `json:"currency,omitempty"`
	Items      []Item  `json:"items,omitempty"`
}

// OrderCreatedV1 is OrderCreated as consumers written before version 2
// know it, without Currency: the inventory service and the VIP email still
// decode every OrderCreated, of either version, with it.
type OrderCreatedV1 struct {
	OrderID    string  `json:"orderId"`
	CustomerID string  `json:"customerId"`
	Total      float64 `json:"total"`
	Items      []Item  `json:"items,omitempty"`
}

// OrderPaid records the captured payment.
type OrderPaid struct {
	OrderID   string  `json:"orderId"`
	Amount    float64 `json:"amount"`
	PaymentID string  `json:"paymentId"`
}

// OrderCancelled ends an unpaid order.
type OrderCancelled struct {
	OrderID string `json:"orderId"`
	Reason  string `json:"reason"`
}

// PaymentRequested asks the payment service to charge a card token.
type PaymentRequested struct {
	OrderID string  `json:"orderId"`
	Amount  float64 `json:"amount"`
	Card    string  `json:"card"`
}

// InventoryReserved says the stock of an order is set aside.
type InventoryReserved struct {
	OrderID string `json:"orderId"`
	Items   []Item `json:"items,omitempty"`
}

// OutOfStock says an order could not be reserved.
type OutOfStock struct {
	OrderID string `json:"orderId"`
	SKU     string `json:"sku"`
}

// Order is the order aggregate, rebuilt from its stream (the seed's
// RebuildAggregate).
type Order struct {
	ID       string  `json:"id"`
	Status   string  `json:"status"` // created, paid, cancelled
	Total    float64 `json:"total"`
	Customer string  `json:"customer"`
	Version  int64   `json:"version"`
}

// Apply folds one event into the order.
func (o *Order) Apply(ev eventstore.RecordedEvent) error {
	switch ev.Type {
	case typeOrderCreated:
		var c OrderCreated
		if err := json.Unmarshal(ev.Data, &c); err != nil {
			return fmt.Errorf("decode OrderCreated: %w", err)
		}
		o.ID, o.Status, o.Total, o.Customer = c.OrderID, "created", c.Total, c.CustomerID
	case typeOrderPaid:
		o.Status = "paid"
	case typeOrderCancelled:
		o.Status = "cancelled"
	}
	o.Version = ev.Version
	return nil
}
