package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/eddy-streaming/eddy/sdk/eventstore"
	"github.com/eddy-streaming/eddy/sdk/pubsub"
)

// orderService places orders over HTTP: it appends OrderCreated to the
// order's stream with expected version no_stream (so an order id is taken
// once) and asks for the payment.
type orderService struct {
	store *eventstore.Client
	repo  *eventstore.Repository[*Order]
	pub   *pubsub.Publisher
}

func newOrderService(store *eventstore.Client, pub *pubsub.Publisher) *orderService {
	return &orderService{store: store, pub: pub, repo: eventstore.NewRepository(store, topicOrders, func() *Order { return &Order{Version: -1} })}
}

// PlaceOrder is the body of POST /orders.
type PlaceOrder struct {
	OrderID    string  `json:"orderId"`
	CustomerID string  `json:"customerId"`
	Total      float64 `json:"total"`
	Currency   string  `json:"currency,omitempty"`
	Card       string  `json:"card"`
	Items      []Item  `json:"items"`
}

// errOrderExists is returned for a second order with the same id.
var errOrderExists = errors.New("order exists")

// place appends OrderCreated (no_stream) and publishes PaymentRequested.
func (s *orderService) place(ctx context.Context, p PlaceOrder) error {
	ev, err := eventstore.NewEvent(typeOrderCreated, OrderCreated{OrderID: p.OrderID, CustomerID: p.CustomerID, Total: p.Total, Currency: p.Currency, Items: p.Items})
	if err != nil {
		return err
	}
	_, err = s.store.Append(ctx, topicOrders, p.OrderID, eventstore.NoStream{}, ev)
	var wev *eventstore.WrongExpectedVersionError
	if errors.As(err, &wev) {
		return fmt.Errorf("order %s: %w (stream version %d)", p.OrderID, errOrderExists, wev.Actual)
	}
	if err != nil {
		return fmt.Errorf("append OrderCreated: %w", err)
	}
	return s.pub.Publish(ctx, pubsub.Message{Topic: topicPayments, Key: p.OrderID, Type: typePaymentRequested,
		Data: PaymentRequested{OrderID: p.OrderID, Amount: p.Total, Card: p.Card}})
}

// pay appends OrderPaid. A payment answers the PaymentRequested of a
// newly created order, so pay first appends with expected version 0 — the
// order's OrderCreated and nothing after it, so still "created" — without
// reading the stream. When the order has moved on (paid already, or
// cancelled) that append is refused, and pay rebuilds the order from its
// stream and decides on its state, appending with the version it decided
// on as the expected one (retrying on a conflict); paying a paid order
// appends nothing.
func (s *orderService) pay(ctx context.Context, id string, amount float64, paymentID string) error {
	ev, err := eventstore.NewEvent(typeOrderPaid, OrderPaid{OrderID: id, Amount: amount, PaymentID: paymentID})
	if err != nil {
		return err
	}
	_, err = s.store.Append(ctx, topicOrders, id, eventstore.Version(0), ev)
	var wev *eventstore.WrongExpectedVersionError
	if !errors.As(err, &wev) {
		return err
	}
	_, err = s.repo.Update(ctx, id, func(o *Order) ([]eventstore.EventData, error) {
		switch o.Status {
		case "paid":
			return nil, nil
		case "created":
			return []eventstore.EventData{ev}, nil
		default:
			return nil, pubsub.Permanent(fmt.Errorf("order %s is %q, cannot be paid", id, o.Status))
		}
	})
	return err
}

// cancel appends OrderCancelled to an unpaid order.
func (s *orderService) cancel(ctx context.Context, id, reason string) error {
	_, err := s.repo.Update(ctx, id, func(o *Order) ([]eventstore.EventData, error) {
		if o.Status != "created" {
			return nil, fmt.Errorf("order %s is %q, cannot be cancelled", id, o.Status)
		}
		ev, err := eventstore.NewEvent(typeOrderCancelled, OrderCancelled{OrderID: id, Reason: reason})
		return []eventstore.EventData{ev}, err
	})
	return err
}

// handler serves POST /orders, GET /orders/{id} and POST
// /orders/{id}/cancel.
func (s *orderService) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		var p PlaceOrder
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			httpError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
			return
		}
		if p.OrderID == "" || p.Total <= 0 || strings.ContainsAny(p.OrderID, "/ ") {
			httpError(w, http.StatusBadRequest, "orderId (no '/' or spaces) and a positive total are required")
			return
		}
		err := s.place(r.Context(), p)
		switch {
		case errors.Is(err, errOrderExists):
			httpError(w, http.StatusConflict, err.Error())
		case err != nil:
			httpError(w, http.StatusBadGateway, err.Error())
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]string{"orderId": p.OrderID, "status": "created"})
		}
	})
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		o, v, err := s.repo.Load(r.Context(), r.PathValue("id"))
		if err != nil {
			httpError(w, http.StatusBadGateway, err.Error())
			return
		}
		if v < 0 {
			httpError(w, http.StatusNotFound, "no order "+r.PathValue("id"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(o)
	})
	mux.HandleFunc("POST /orders/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		if err := s.cancel(r.Context(), r.PathValue("id"), r.URL.Query().Get("reason")); err != nil {
			httpError(w, http.StatusConflict, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"message": msg}})
}
