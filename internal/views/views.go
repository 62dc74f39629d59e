// Package views holds the definitions of views — read-only topics made of
// a source topic's records that match a CEL filter — and the batch filter
// that serves them: it rewrites stored RecordBatches without the records
// that do not match.
//
// A view is a name in the broker's topic namespace; the broker resolves it
// (internal/broker/views.go). Definitions are kept behind [Store], so they
// can move from the local meta store into a replicated one; [MetaStore]
// keeps them in the data directory's meta (bbolt), bucket "views".
//
// Usage:
//
//	st := views.NewMetaStore(metaStore)
//	err := st.Put(views.Def{Name: "big-orders", Source: "orders", Filter: "value.total > 1000"})
//	defs, err := st.List()
package views

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/eddy-streaming/eddy/internal/meta"
)

// Topic configs that define a view in CreateTopics, DescribeConfigs and
// IncrementalAlterConfigs.
const (
	SourceConfig = "eddy.view.source"
	FilterConfig = "eddy.view.filter"
)

// Def is one view definition.
type Def struct {
	Name   string
	Source string
	Filter string
	// ID is the view's topic id (Metadata v10+, Fetch v13+).
	ID [16]byte
}

// Store persists view definitions. Implementations are safe for
// concurrent use; Put and Delete are durable when they return.
type Store interface {
	// List returns every definition.
	List() ([]Def, error)
	// Put creates or replaces a definition.
	Put(d Def) error
	// Delete removes a definition; deleting an absent one is not an error.
	Delete(name string) error
}

// bucket is the meta bucket of view definitions (key = view name).
const bucket = "views"

// defRecord is the meta encoding of a Def.
type defRecord struct {
	V      int    `json:"v"`
	ID     string `json:"id"`
	Source string `json:"source"`
	Filter string `json:"filter"`
}

// MetaStore is a Store in a meta.Store.
type MetaStore struct{ m *meta.Store }

// NewMetaStore returns a Store keeping definitions in m.
func NewMetaStore(m *meta.Store) *MetaStore { return &MetaStore{m: m} }

// List implements Store.
func (s *MetaStore) List() ([]Def, error) {
	var out []Def
	err := s.m.ForEach(bucket, "", func(k string, v []byte) error {
		var r defRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode view %s: %w", k, err)
		}
		if r.V != 1 {
			return fmt.Errorf("decode view %s: unknown version %d", k, r.V)
		}
		d := Def{Name: k, Source: r.Source, Filter: r.Filter}
		if id, err := hex.DecodeString(r.ID); err == nil && len(id) == 16 {
			copy(d.ID[:], id)
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list views: %w", err)
	}
	return out, nil
}

// Put implements Store.
func (s *MetaStore) Put(d Def) error {
	v, err := json.Marshal(defRecord{V: 1, ID: hex.EncodeToString(d.ID[:]), Source: d.Source, Filter: d.Filter})
	if err != nil {
		return fmt.Errorf("encode view %s: %w", d.Name, err)
	}
	if err := s.m.Put(bucket, d.Name, v); err != nil {
		return fmt.Errorf("store view %s: %w", d.Name, err)
	}
	return nil
}

// Delete implements Store.
func (s *MetaStore) Delete(name string) error {
	if err := s.m.Delete(bucket, name); err != nil {
		return fmt.Errorf("delete view %s: %w", name, err)
	}
	return nil
}
