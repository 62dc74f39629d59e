// Package registry is Eddy's schema registry: subjects, versions and global
// schema ids over internal/schema's formats and compatibility rules, kept in
// a Store, and served with the Confluent Schema Registry REST API
// (handler.go).
//
// State lives in memory and in the Store. Every change is written to the
// Store (fsynced) before memory changes and before the caller is answered,
// so nothing acknowledged is lost in a crash, and readers never see a change
// that might not survive one. Writes are serialized by one mutex; reads share
// it. Compiled schemas are cached by id.
//
// Usage:
//
//	r, err := registry.Open(registry.NewMetaStore(metaStore))
//	id, err := r.Register("orders-value", registry.RegisterRequest{Schema: avroText})
//	c, err := r.Compiled(id)
package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/eddy-streaming/eddy/internal/schema"
)

// Modes of a subject or of the whole registry.
const (
	ModeReadWrite        = "READWRITE"
	ModeReadOnly         = "READONLY"
	ModeReadOnlyOverride = "READONLY_OVERRIDE"
	ModeImport           = "IMPORT"
)

// Reference names another subject's version from a schema.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// Schema is a registered schema as the API returns it.
type Schema struct {
	Subject    string      `json:"subject,omitempty"`
	Version    int         `json:"version,omitempty"`
	ID         int         `json:"id"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	Schema     string      `json:"schema"`
}

// RegisterRequest is the body of POST /subjects/{s}/versions (and of the
// lookup and compatibility requests). ID and Version are only allowed in
// IMPORT mode.
type RegisterRequest struct {
	Schema     string      `json:"schema"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	ID         int         `json:"id,omitempty"`
	Version    int         `json:"version,omitempty"`
	// Metadata and RuleSet are Confluent's data-contract fields. Eddy does
	// not store them: a request carrying either is refused (42201, 42210)
	// rather than registered without them.
	Metadata json.RawMessage `json:"metadata,omitempty"`
	RuleSet  json.RawMessage `json:"ruleSet,omitempty"`
	// Normalize is the normalize=true query parameter: the schema is
	// registered (or looked up) in its normalized form (schema.Normalize).
	Normalize bool `json:"-"`
}

// SubjectVersion names one version of one subject.
type SubjectVersion struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// storedSchema is the durable form of a schema (key "id/<id>"). V is the
// encoding version.
type storedSchema struct {
	V    int         `json:"v"`
	Type schema.Type `json:"type"`
	Text string      `json:"schema"`
	Refs []Reference `json:"references,omitempty"`
}

// storedVersion is the durable form of a subject version (key
// "sv/<subject>\x00<version>").
type storedVersion struct {
	V       int  `json:"v"`
	ID      int  `json:"id"`
	Deleted bool `json:"deleted,omitempty"`
}

type record struct {
	id       int
	s        storedSchema
	key      string
	compiled atomic.Pointer[schema.Compiled]
	// byIDJSON caches the encoded GET /schemas/ids/{id} answer (a
	// schema's text and references never change).
	byIDJSON atomic.Pointer[[]byte]
}

type version struct {
	n       int
	id      int
	deleted bool
}

// Registry is the schema registry's state. It is safe for concurrent use.
type Registry struct {
	store Store
	// stripes serialize writes per subject (Register, deletes); taken
	// before mu.
	stripes [64]sync.Mutex
	mu      sync.RWMutex
	// Guarded by mu.
	byID     map[int]*record
	byKey    map[string]int
	subjects map[string][]*version // versions in ascending order
	config   map[string]schema.Level
	mode     map[string]string
	nextID   int
	// pending maps the dedup key of a schema being written to the id it
	// was given, so concurrent registrations of one new schema share it.
	pending map[string]int
}

const (
	keySchema   = "id/"
	keyVersion  = "sv/"
	keyConfig   = "cfg/"
	keyMode     = "mode/"
	keyNextID   = "next_id"
	globalScope = "\x00global"
)

// Open loads the registry's state from store.
func Open(store Store) (*Registry, error) {
	r := &Registry{
		store:    store,
		byID:     map[int]*record{},
		byKey:    map[string]int{},
		subjects: map[string][]*version{},
		config:   map[string]schema.Level{},
		mode:     map[string]string{},
		pending:  map[string]int{},
		nextID:   1,
	}
	err := store.Load(func(key string, value []byte) error {
		switch {
		case strings.HasPrefix(key, keySchema):
			id, err := strconv.Atoi(key[len(keySchema):])
			if err != nil {
				return fmt.Errorf("schema key %q: %w", key, err)
			}
			rec := &record{id: id}
			if err := json.Unmarshal(value, &rec.s); err != nil {
				return fmt.Errorf("schema %d: %w", id, err)
			}
			r.byID[id] = rec
		case strings.HasPrefix(key, keyVersion):
			subject, vs, ok := strings.Cut(key[len(keyVersion):], "\x00")
			n, err := strconv.Atoi(vs)
			if !ok || err != nil {
				return fmt.Errorf("version key %q malformed", key)
			}
			var sv storedVersion
			if err := json.Unmarshal(value, &sv); err != nil {
				return fmt.Errorf("subject %s version %d: %w", subject, n, err)
			}
			r.subjects[subject] = append(r.subjects[subject], &version{n: n, id: sv.ID, deleted: sv.Deleted})
		case strings.HasPrefix(key, keyConfig):
			r.config[key[len(keyConfig):]] = schema.Level(value)
		case strings.HasPrefix(key, keyMode):
			r.mode[key[len(keyMode):]] = string(value)
		case key == keyNextID:
			n, err := strconv.Atoi(string(value))
			if err != nil {
				return fmt.Errorf("next id %q: %w", value, err)
			}
			r.nextID = n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, vs := range r.subjects {
		sort.Slice(vs, func(i, j int) bool { return vs[i].n < vs[j].n })
	}
	// Keys need the canonical form, so compile every schema once at load.
	for id, rec := range r.byID {
		c, err := r.compileLocked(rec)
		if err != nil {
			return nil, fmt.Errorf("schema %d no longer compiles: %w", id, err)
		}
		rec.key = dedupKey(rec.s.Type, c.Canonical(), rec.s.Refs)
		r.byKey[rec.key] = id
		if id >= r.nextID {
			r.nextID = id + 1
		}
	}
	return r, nil
}

func dedupKey(t schema.Type, canonical string, refs []Reference) string {
	b, _ := json.Marshal(refs)
	return string(t) + "\x00" + canonical + "\x00" + string(b)
}

func schemaKey(id int) string { return fmt.Sprintf("%s%010d", keySchema, id) }

func versionKey(subject string, n int) string {
	return fmt.Sprintf("%s%s\x00%010d", keyVersion, subject, n)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled
	}
	return b
}

// resolveLocked turns references into schema.Deps, recursively.
func (r *Registry) resolveLocked(refs []Reference, depth int) ([]schema.Dep, error) {
	if depth > 32 {
		return nil, fmt.Errorf("references nest deeper than 32")
	}
	var deps []schema.Dep
	for _, ref := range refs {
		if ref.Name == "" || ref.Subject == "" {
			return nil, fmt.Errorf("reference %+v needs a name and a subject", ref)
		}
		v := r.findVersionLocked(ref.Subject, ref.Version, true)
		if v == nil {
			return nil, fmt.Errorf("reference %q: subject %q version %d not found", ref.Name, ref.Subject, ref.Version)
		}
		rec := r.byID[v.id]
		sub, err := r.resolveLocked(rec.s.Refs, depth+1)
		if err != nil {
			return nil, err
		}
		deps = append(deps, schema.Dep{Name: ref.Name, Type: rec.s.Type, Text: rec.s.Text, Deps: sub})
	}
	return deps, nil
}

// compileLocked returns rec's compiled schema, compiling it once.
func (r *Registry) compileLocked(rec *record) (schema.Compiled, error) {
	if c := rec.compiled.Load(); c != nil {
		return *c, nil
	}
	deps, err := r.resolveLocked(rec.s.Refs, 0)
	if err != nil {
		return nil, err
	}
	c, err := schema.Compile(rec.s.Type, rec.s.Text, deps)
	if err != nil {
		return nil, err
	}
	rec.compiled.Store(&c)
	return c, nil
}

// findVersionLocked returns version n of subject (-1: the latest), skipping
// soft-deleted versions unless deleted is set.
func (r *Registry) findVersionLocked(subject string, n int, deleted bool) *version {
	vs := r.subjects[subject]
	for i := len(vs) - 1; i >= 0; i-- {
		v := vs[i]
		if v.deleted && !deleted {
			continue
		}
		if n == -1 || v.n == n {
			return v
		}
	}
	return nil
}

func (r *Registry) liveVersionsLocked(subject string) []*version {
	var out []*version
	for _, v := range r.subjects[subject] {
		if !v.deleted {
			out = append(out, v)
		}
	}
	return out
}

func (r *Registry) subjectExistsLocked(subject string, deleted bool) bool {
	for _, v := range r.subjects[subject] {
		if deleted || !v.deleted {
			return true
		}
	}
	return false
}

// ParseVersion parses a version path segment: "latest", -1 or 1..2^31-1.
func ParseVersion(s string) (int, error) {
	if s == "latest" {
		return -1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n == 0 || n < -1 || n > math.MaxInt32 {
		return 0, errorf(CodeInvalidVersion, "The specified version '%s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"", s)
	}
	return n, nil
}

func (r *Registry) levelLocked(subject string) schema.Level {
	if l, ok := r.config[subject]; ok && subject != "" {
		return l
	}
	if l, ok := r.config[globalScope]; ok {
		return l
	}
	return schema.Backward
}

func (r *Registry) modeLocked(subject string) string {
	if m, ok := r.mode[subject]; ok && subject != "" {
		return m
	}
	if m, ok := r.mode[globalScope]; ok {
		return m
	}
	return ModeReadWrite
}

func (r *Registry) toSchema(subject string, v *version, rec *record) Schema {
	s := Schema{Subject: subject, ID: rec.id, Schema: rec.s.Text, References: rec.s.Refs}
	if v != nil {
		s.Version = v.n
	}
	if rec.s.Type != schema.Avro {
		s.SchemaType = string(rec.s.Type)
	}
	return s
}

// compileRequestLocked compiles a request's schema with its references;
// with req.Normalize it first replaces req.Schema by its normalized form.
func (r *Registry) compileRequestLocked(req *RegisterRequest) (schema.Type, schema.Compiled, *Error) {
	if present(req.RuleSet) {
		return "", nil, errorf(CodeInvalidRuleSet, "Invalid ruleSet: rule sets (data contract rules) are not supported by this registry; register the schema without \"ruleSet\"")
	}
	if present(req.Metadata) {
		return "", nil, errorf(CodeInvalidSchema, "Invalid schema: schema metadata (data contracts) is not supported by this registry; register the schema without \"metadata\"")
	}
	typ, err := schema.ParseType(req.SchemaType)
	if err != nil {
		return "", nil, errorf(CodeInvalidSchema, "Invalid schema: %v", err)
	}
	if req.Schema == "" {
		return "", nil, errorf(CodeInvalidSchema, "Invalid schema: the schema is empty")
	}
	deps, err := r.resolveLocked(req.References, 0)
	if err != nil {
		return "", nil, errorf(CodeInvalidSchema, "Invalid schema %s with refs %v of type %s, details: %v", req.Schema, req.References, typ, err)
	}
	if req.Normalize {
		text, err := schema.Normalize(typ, req.Schema, deps)
		if err != nil {
			return "", nil, errorf(CodeInvalidSchema, "Invalid schema %s with refs %v of type %s, details: %v", req.Schema, req.References, typ, err)
		}
		req.Schema = text
	}
	c, err := schema.Compile(typ, req.Schema, deps)
	if err != nil {
		return "", nil, errorf(CodeInvalidSchema, "Invalid schema %s with refs %v of type %s, details: %v", req.Schema, req.References, typ, err)
	}
	return typ, c, nil
}

// present reports whether an optional JSON field holds something other
// than null or an empty object.
func present(raw json.RawMessage) bool {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil {
		for _, v := range m {
			if v := strings.TrimSpace(string(v)); v != "null" && v != "[]" && v != "{}" {
				return true
			}
		}
		return false
	}
	return true
}

func (r *Registry) liveCompiledLocked(subject string) ([]schema.Compiled, error) {
	var out []schema.Compiled
	for _, v := range r.liveVersionsLocked(subject) {
		c, err := r.compileLocked(r.byID[v.id])
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func validSubject(s string) *Error {
	if s == "" || strings.ContainsAny(s, "\x00") || len(s) > 1024 {
		return errorf(CodeInvalidSubject, "Invalid subject %q: subjects are 1 to 1024 characters without NUL", s)
	}
	if strings.HasPrefix(s, ":.") {
		return errorf(CodeInvalidSubject, "Invalid subject %q: schema contexts (:.context:subject) are not supported by this registry; every subject is in the default context, use the plain subject name", s)
	}
	return nil
}

// Register registers req's schema under subject and returns its id: the
// existing version's id when the subject already has the schema, the id of
// the same schema under another subject, or a new id.
//
// Registrations to one subject are serialized; registrations to different
// subjects run concurrently and share the store's group commit. The global
// lock is held only to read state, to allocate an id and to apply the
// committed result, never across the durable write.
func (r *Registry) Register(subject string, req RegisterRequest) (int, error) {
	if err := validSubject(subject); err != nil {
		return 0, err
	}
	sl := r.subjectLock(subject)
	sl.Lock()
	defer sl.Unlock()
	r.mu.RLock()
	mode := r.modeLocked(subject)
	if mode == ModeImport || req.ID > 0 || req.Version > 0 {
		r.mu.RUnlock()
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.registerLocked(subject, req)
	}
	if mode == ModeReadOnly || mode == ModeReadOnlyOverride {
		r.mu.RUnlock()
		return 0, errorf(CodeOperationNotPermitted, "Subject %s is in read-only mode", subject)
	}
	typ, c, apiErr := r.compileRequestLocked(&req)
	if apiErr != nil {
		r.mu.RUnlock()
		return 0, apiErr
	}
	key := dedupKey(typ, c.Canonical(), req.References)
	for _, v := range r.liveVersionsLocked(subject) {
		if r.byID[v.id].key == key {
			r.mu.RUnlock()
			return v.id, nil
		}
	}
	existing, err := r.liveCompiledLocked(subject)
	level := r.levelLocked(subject)
	n := 1
	if vs := r.subjects[subject]; len(vs) > 0 {
		n = vs[len(vs)-1].n + 1
	}
	r.mu.RUnlock()
	if err != nil {
		return 0, storeError(err)
	}
	if reasons := schema.Check(level, c, existing); len(reasons) > 0 {
		return 0, errorf(CodeIncompatible, "Schema being registered is incompatible with an earlier schema for subject \"%s\", details: [%s, {compatibility: '%s'}]", subject, strings.Join(reasons, ", "), level)
	}

	r.mu.Lock()
	id, committed := r.byKey[key]
	if !committed {
		var ok bool
		if id, ok = r.pending[key]; !ok {
			id = r.nextID
			r.nextID++
			r.pending[key] = id
		}
	}
	r.mu.Unlock()

	s := storedSchema{V: 1, Type: typ, Text: compactText(typ, req.Schema), Refs: req.References}
	var ops []Op
	if !committed {
		// Written by every registration that allocated or shares the id
		// before it is committed, so none depends on another's write.
		ops = append(ops, Op{Key: schemaKey(id), Value: mustJSON(s)})
	}
	ops = append(ops,
		Op{Key: keyNextID, Value: []byte(strconv.Itoa(id + 1)), Max: true},
		Op{Key: versionKey(subject, n), Value: mustJSON(storedVersion{V: 1, ID: id})})
	err = r.store.Apply(ops)

	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if !committed && r.pending[key] == id {
			delete(r.pending, key)
		}
		return 0, storeError(err)
	}
	if _, ok := r.byID[id]; !ok {
		rec := &record{id: id, s: s, key: key}
		rec.compiled.Store(&c)
		r.byID[id] = rec
		r.byKey[key] = id
	}
	delete(r.pending, key)
	vs := append(r.subjects[subject], &version{n: n, id: id})
	sort.Slice(vs, func(i, j int) bool { return vs[i].n < vs[j].n })
	r.subjects[subject] = vs
	return id, nil
}

// subjectLock returns the mutex serializing writes to subject (one of a
// fixed set of stripes).
func (r *Registry) subjectLock(subject string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(subject))
	return &r.stripes[h.Sum32()%uint32(len(r.stripes))]
}

// registerLocked is Register under the global write lock, for IMPORT mode
// (explicit ids and versions) and its checks.
func (r *Registry) registerLocked(subject string, req RegisterRequest) (int, error) {
	mode := r.modeLocked(subject)
	if mode == ModeReadOnly || mode == ModeReadOnlyOverride {
		return 0, errorf(CodeOperationNotPermitted, "Subject %s is in read-only mode", subject)
	}
	if (req.ID > 0 || req.Version > 0) && mode != ModeImport {
		return 0, errorf(CodeOperationNotPermitted, "Subject %s is not in import mode", subject)
	}
	typ, c, apiErr := r.compileRequestLocked(&req)
	if apiErr != nil {
		return 0, apiErr
	}
	key := dedupKey(typ, c.Canonical(), req.References)
	for _, v := range r.liveVersionsLocked(subject) {
		if r.byID[v.id].key == key {
			if req.ID > 0 && req.ID != v.id {
				return 0, errorf(CodeIDInUse, "Schema already registered with id %d instead of input id %d", v.id, req.ID)
			}
			return v.id, nil
		}
	}
	var ops []Op
	id, known := r.byKey[key]
	nextID := r.nextID
	switch {
	case req.ID > 0:
		if rec, ok := r.byID[req.ID]; ok && rec.key != key {
			return 0, errorf(CodeIDInUse, "Overwrite new schema with id %d is not permitted.", req.ID)
		}
		id, known = req.ID, r.byID[req.ID] != nil
		if id >= nextID {
			nextID = id + 1
		}
	case !known:
		id = nextID
		nextID++
	}
	if mode != ModeImport {
		existing, err := r.liveCompiledLocked(subject)
		if err != nil {
			return 0, storeError(err)
		}
		level := r.levelLocked(subject)
		if reasons := schema.Check(level, c, existing); len(reasons) > 0 {
			return 0, errorf(CodeIncompatible, "Schema being registered is incompatible with an earlier schema for subject \"%s\", details: [%s, {compatibility: '%s'}]", subject, strings.Join(reasons, ", "), level)
		}
	}
	n := 1
	if vs := r.subjects[subject]; len(vs) > 0 {
		n = vs[len(vs)-1].n + 1
	}
	if req.Version > 0 {
		if r.findVersionLocked(subject, req.Version, true) != nil {
			return 0, errorf(CodeInvalidVersion, "Version %d of subject %s already exists", req.Version, subject)
		}
		n = req.Version
	}
	var rec *record
	if !known {
		rec = &record{id: id, s: storedSchema{V: 1, Type: typ, Text: compactText(typ, req.Schema), Refs: req.References}, key: key}
		rec.compiled.Store(&c)
		ops = append(ops, Op{Key: schemaKey(id), Value: mustJSON(rec.s)})
	}
	if nextID != r.nextID {
		ops = append(ops, Op{Key: keyNextID, Value: []byte(strconv.Itoa(nextID)), Max: true})
	}
	ops = append(ops, Op{Key: versionKey(subject, n), Value: mustJSON(storedVersion{V: 1, ID: id})})
	if err := r.store.Apply(ops); err != nil {
		return 0, storeError(err)
	}
	if rec != nil {
		r.byID[id] = rec
		r.byKey[key] = id
	}
	r.nextID = nextID
	vs := append(r.subjects[subject], &version{n: n, id: id})
	sort.Slice(vs, func(i, j int) bool { return vs[i].n < vs[j].n })
	r.subjects[subject] = vs
	return id, nil
}

// compactText strips insignificant whitespace from JSON-based schema text,
// as Confluent returns Avro and JSON schemas in compact form.
func compactText(t schema.Type, text string) string {
	if t == schema.Protobuf {
		return text
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(text)); err != nil {
		return text
	}
	return b.String()
}

// Lookup returns the version of subject whose schema is req's.
func (r *Registry) Lookup(subject string, req RegisterRequest, deleted bool) (Schema, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if !r.subjectExistsLocked(subject, deleted) {
		return Schema{}, subjectNotFound(subject)
	}
	typ, c, apiErr := r.compileRequestLocked(&req)
	if apiErr != nil {
		return Schema{}, apiErr
	}
	key := dedupKey(typ, c.Canonical(), req.References)
	vs := r.subjects[subject]
	for i := len(vs) - 1; i >= 0; i-- {
		v := vs[i]
		if (deleted || !v.deleted) && r.byID[v.id].key == key {
			return r.toSchema(subject, v, r.byID[v.id]), nil
		}
	}
	return Schema{}, errorf(CodeSchemaNotFound, "Schema not found")
}

// SchemaByID returns the schema with id (no subject or version).
func (r *Registry) SchemaByID(id int) (Schema, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	rec, ok := r.byID[id]
	if !ok {
		return Schema{}, schemaNotFound(id)
	}
	return r.toSchema("", nil, rec), nil
}

// SchemaByIDJSON is SchemaByID encoded as JSON, cached per id: the hot
// path of every deserializer that meets a new id.
func (r *Registry) SchemaByIDJSON(id int) ([]byte, error) {
	r.mu.RLock()
	rec, ok := r.byID[id]
	r.mu.RUnlock()
	if !ok {
		return nil, schemaNotFound(id)
	}
	if b := rec.byIDJSON.Load(); b != nil {
		return *b, nil
	}
	b, err := json.Marshal(r.toSchema("", nil, rec))
	if err != nil {
		return nil, fmt.Errorf("encode schema %d: %w", id, err)
	}
	rec.byIDJSON.Store(&b)
	return b, nil
}

// Compiled returns the compiled schema with id, from the cache.
func (r *Registry) Compiled(id int) (schema.Compiled, error) {
	r.mu.RLock()
	rec, ok := r.byID[id]
	if ok {
		if c := rec.compiled.Load(); c != nil {
			r.mu.RUnlock()
			return *c, nil
		}
	}
	defer r.mu.RUnlock()
	if !ok {
		return nil, schemaNotFound(id)
	}
	return r.compileLocked(rec)
}

// Latest returns the compiled schema of subject's latest live version and
// its id.
func (r *Registry) Latest(subject string) (schema.Compiled, int, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v := r.findVersionLocked(subject, -1, false)
	if v == nil {
		return nil, 0, subjectNotFound(subject)
	}
	c, err := r.compileLocked(r.byID[v.id])
	return c, v.id, err
}

// HasID reports whether id is the schema of a live version of subject.
func (r *Registry) HasID(subject string, id int) bool { return r.hasID(subject, id, false) }

// hasID is HasID; with deleted, soft-deleted versions count too.
func (r *Registry) hasID(subject string, id int, deleted bool) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, v := range r.subjects[subject] {
		if v.id == id && (deleted || !v.deleted) {
			return true
		}
	}
	return false
}

// SubjectVersionsByID lists the subject versions whose schema is id.
func (r *Registry) SubjectVersionsByID(id int, deleted bool) ([]SubjectVersion, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if _, ok := r.byID[id]; !ok {
		return nil, schemaNotFound(id)
	}
	out := []SubjectVersion{}
	for _, s := range r.sortedSubjectsLocked() {
		for _, v := range r.subjects[s] {
			if v.id == id && (deleted || !v.deleted) {
				out = append(out, SubjectVersion{Subject: s, Version: v.n})
			}
		}
	}
	return out, nil
}

func (r *Registry) sortedSubjectsLocked() []string {
	out := make([]string, 0, len(r.subjects))
	for s := range r.subjects {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Subjects lists subjects with a live version (or any version, when deleted
// is set) whose name starts with prefix.
func (r *Registry) Subjects(prefix string, deleted bool) []string {
	return r.SubjectsFiltered(prefix, deleted, false)
}

// SubjectsFiltered is Subjects; with deletedOnly it lists only the
// soft-deleted subjects (versions left, none of them live).
func (r *Registry) SubjectsFiltered(prefix string, deleted, deletedOnly bool) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := []string{}
	for _, s := range r.sortedSubjectsLocked() {
		if !strings.HasPrefix(s, prefix) {
			continue
		}
		live := r.subjectExistsLocked(s, false)
		if deletedOnly {
			if !live && r.subjectExistsLocked(s, true) {
				out = append(out, s)
			}
		} else if live || (deleted && r.subjectExistsLocked(s, true)) {
			out = append(out, s)
		}
	}
	return out
}

// SchemasQuery selects the schemas GET /schemas lists.
type SchemasQuery struct {
	SubjectPrefix string
	Deleted       bool // include soft-deleted versions
	LatestOnly    bool // only each subject's latest version
	Offset        int
	Limit         int // ≤ 0: no limit
}

// Schemas lists subject versions with their schemas, by subject and then
// version, as GET /schemas does.
func (r *Registry) Schemas(q SchemasQuery) []Schema {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := []Schema{}
	skip := q.Offset
	for _, s := range r.sortedSubjectsLocked() {
		if !strings.HasPrefix(s, q.SubjectPrefix) {
			continue
		}
		var sel []*version
		for _, v := range r.subjects[s] {
			if q.Deleted || !v.deleted {
				sel = append(sel, v)
			}
		}
		if q.LatestOnly && len(sel) > 0 {
			sel = sel[len(sel)-1:]
		}
		for _, v := range sel {
			if skip > 0 {
				skip--
				continue
			}
			if q.Limit > 0 && len(out) >= q.Limit {
				return out
			}
			out = append(out, r.toSchema(s, v, r.byID[v.id]))
		}
	}
	return out
}

// Versions lists a subject's version numbers: the live ones, with deleted
// also the soft-deleted ones.
func (r *Registry) Versions(subject string, deleted bool) ([]int, error) {
	return r.VersionsFiltered(subject, deleted, false)
}

// VersionsFiltered is Versions; with deletedOnly it lists only the
// soft-deleted versions.
func (r *Registry) VersionsFiltered(subject string, deleted, deletedOnly bool) ([]int, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if !r.subjectExistsLocked(subject, deleted || deletedOnly) {
		return nil, subjectNotFound(subject)
	}
	out := []int{}
	for _, v := range r.subjects[subject] {
		if (deletedOnly && v.deleted) || (!deletedOnly && (deleted || !v.deleted)) {
			out = append(out, v.n)
		}
	}
	return out, nil
}

// Version returns version n (-1: latest) of subject.
func (r *Registry) Version(subject string, n int, deleted bool) (Schema, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if !r.subjectExistsLocked(subject, deleted) {
		return Schema{}, subjectNotFound(subject)
	}
	v := r.findVersionLocked(subject, n, deleted)
	if v == nil {
		return Schema{}, versionNotFound(n)
	}
	return r.toSchema(subject, v, r.byID[v.id]), nil
}

// referrersLocked lists the ids of live schemas that reference subject version n.
func (r *Registry) referrersLocked(subject string, n int) []int {
	live := map[int]bool{}
	for _, vs := range r.subjects {
		for _, v := range vs {
			if !v.deleted {
				live[v.id] = true
			}
		}
	}
	out := []int{}
	for id, rec := range r.byID {
		if !live[id] {
			continue
		}
		for _, ref := range rec.s.Refs {
			if ref.Subject == subject && (ref.Version == n || (ref.Version == -1 && r.findVersionLocked(subject, -1, false) != nil && r.findVersionLocked(subject, -1, false).n == n)) {
				out = append(out, id)
				break
			}
		}
	}
	sort.Ints(out)
	return out
}

// ReferencedBy lists the ids of schemas that reference version n of subject.
func (r *Registry) ReferencedBy(subject string, n int) ([]int, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if !r.subjectExistsLocked(subject, false) {
		return nil, subjectNotFound(subject)
	}
	v := r.findVersionLocked(subject, n, false)
	if v == nil {
		return nil, versionNotFound(n)
	}
	return r.referrersLocked(subject, v.n), nil
}

// dropUnusedLocked returns the ops that remove schema id when no version
// refers to it any more, after the versions in gone are removed.
func (r *Registry) unusedLocked(id int, gone map[*version]bool) bool {
	for _, vs := range r.subjects {
		for _, v := range vs {
			if v.id == id && !gone[v] {
				return false
			}
		}
	}
	return true
}

// DeleteVersion deletes version n (-1: latest) of subject: softly, or
// permanently when it was soft-deleted before.
func (r *Registry) DeleteVersion(subject string, n int, permanent bool) (int, error) {
	sl := r.subjectLock(subject)
	sl.Lock()
	defer sl.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.modeLocked(subject); m == ModeReadOnly || m == ModeReadOnlyOverride {
		return 0, errorf(CodeOperationNotPermitted, "Subject %s is in read-only mode", subject)
	}
	if !r.subjectExistsLocked(subject, true) {
		return 0, subjectNotFound(subject)
	}
	v := r.findVersionLocked(subject, n, permanent)
	if v == nil {
		if n > 0 && r.findVersionLocked(subject, n, true) != nil {
			return 0, errorf(CodeVersionSoftDeleted, "Subject '%s' Version %d was soft deleted. Set permanent=true to delete permanently", subject, n)
		}
		return 0, versionNotFound(n)
	}
	if refs := r.referrersLocked(subject, v.n); len(refs) > 0 {
		return 0, errorf(CodeReferenceExists, "One or more references exist to the schema {subject=%s,version=%d}: schema ids %v", subject, v.n, refs)
	}
	if permanent && !v.deleted {
		return 0, errorf(CodeVersionNotSoftDeleted, "Subject '%s' Version %d was not deleted first before being permanently deleted", subject, v.n)
	}
	return v.n, r.deleteLocked(subject, []*version{v}, permanent)
}

func (r *Registry) deleteLocked(subject string, vs []*version, permanent bool) error {
	var ops []Op
	gone := map[*version]bool{}
	for _, v := range vs {
		if permanent {
			gone[v] = true
			ops = append(ops, Op{Key: versionKey(subject, v.n)})
		} else {
			ops = append(ops, Op{Key: versionKey(subject, v.n), Value: mustJSON(storedVersion{V: 1, ID: v.id, Deleted: true})})
		}
	}
	var drop []int
	if permanent {
		seen := map[int]bool{}
		for _, v := range vs {
			if !seen[v.id] && r.unusedLocked(v.id, gone) {
				seen[v.id] = true
				drop = append(drop, v.id)
				ops = append(ops, Op{Key: schemaKey(v.id)})
			}
		}
	}
	if err := r.store.Apply(ops); err != nil {
		return storeError(err)
	}
	if permanent {
		kept := r.subjects[subject][:0]
		for _, v := range r.subjects[subject] {
			if !gone[v] {
				kept = append(kept, v)
			}
		}
		if len(kept) == 0 {
			delete(r.subjects, subject)
		} else {
			r.subjects[subject] = kept
		}
		for _, id := range drop {
			delete(r.byKey, r.byID[id].key)
			delete(r.byID, id)
		}
	} else {
		for _, v := range vs {
			v.deleted = true
		}
	}
	return nil
}

// DeleteSubject deletes every version of subject: softly, or permanently
// when the subject was soft-deleted before. It returns the version numbers.
func (r *Registry) DeleteSubject(subject string, permanent bool) ([]int, error) {
	sl := r.subjectLock(subject)
	sl.Lock()
	defer sl.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.modeLocked(subject); m == ModeReadOnly || m == ModeReadOnlyOverride {
		return nil, errorf(CodeOperationNotPermitted, "Subject %s is in read-only mode", subject)
	}
	if !r.subjectExistsLocked(subject, true) {
		return nil, subjectNotFound(subject)
	}
	live := r.liveVersionsLocked(subject)
	if permanent && len(live) > 0 {
		return nil, errorf(CodeSubjectNotSoftDeleted, "Subject '%s' was not deleted first before being permanently deleted", subject)
	}
	if !permanent && len(live) == 0 {
		return nil, errorf(CodeSubjectSoftDeleted, "Subject '%s' was soft deleted. Set permanent=true to delete permanently", subject)
	}
	targets := live
	if permanent {
		targets = append([]*version{}, r.subjects[subject]...)
	}
	out := []int{}
	for _, v := range targets {
		if refs := r.referrersLocked(subject, v.n); len(refs) > 0 {
			return nil, errorf(CodeReferenceExists, "One or more references exist to the schema {subject=%s,version=%d}: schema ids %v", subject, v.n, refs)
		}
		out = append(out, v.n)
	}
	if err := r.deleteLocked(subject, targets, permanent); err != nil {
		return nil, err
	}
	if permanent {
		var ops []Op
		if _, ok := r.config[subject]; ok {
			ops = append(ops, Op{Key: keyConfig + subject})
		}
		if _, ok := r.mode[subject]; ok {
			ops = append(ops, Op{Key: keyMode + subject})
		}
		if len(ops) > 0 {
			if err := r.store.Apply(ops); err != nil {
				return nil, storeError(err)
			}
			delete(r.config, subject)
			delete(r.mode, subject)
		}
	}
	return out, nil
}

// CheckCompatibility reports whether req's schema may follow version n of
// subject (n == 0: the versions the subject's level checks against).
func (r *Registry) CheckCompatibility(subject string, n int, req RegisterRequest) (bool, []string, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, c, apiErr := r.compileRequestLocked(&req)
	if apiErr != nil {
		return false, nil, apiErr
	}
	level := r.levelLocked(subject)
	var existing []schema.Compiled
	if n == 0 {
		var err error
		if existing, err = r.liveCompiledLocked(subject); err != nil {
			return false, nil, storeError(err)
		}
	} else {
		if !r.subjectExistsLocked(subject, false) {
			return false, nil, subjectNotFound(subject)
		}
		v := r.findVersionLocked(subject, n, false)
		if v == nil {
			return false, nil, versionNotFound(n)
		}
		old, err := r.compileLocked(r.byID[v.id])
		if err != nil {
			return false, nil, storeError(err)
		}
		existing = []schema.Compiled{old}
	}
	reasons := schema.Check(level, c, existing)
	if len(reasons) > 0 {
		reasons = append(reasons, fmt.Sprintf("{compatibility: '%s'}", level))
	}
	return len(reasons) == 0, reasons, nil
}

// Config returns subject's compatibility level ("" = global). Without a
// subject-level setting it is an error unless defaultToGlobal is set.
func (r *Registry) Config(subject string, defaultToGlobal bool) (schema.Level, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if subject != "" {
		if l, ok := r.config[subject]; ok {
			return l, nil
		}
		if !defaultToGlobal {
			return "", errorf(CodeSubjectLevelCompatMissing, "Subject '%s' does not have subject-level compatibility configured", subject)
		}
	}
	return r.levelLocked(""), nil
}

// SetConfig sets the compatibility level of subject ("" = global).
func (r *Registry) SetConfig(subject string, level string) (schema.Level, error) {
	l, err := schema.ParseLevel(level)
	if err != nil {
		return "", errorf(CodeInvalidCompatibility, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")
	}
	if subject != "" {
		if err := validSubject(subject); err != nil {
			return "", err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := scope(subject)
	if err := r.store.Apply([]Op{{Key: keyConfig + k, Value: []byte(l)}}); err != nil {
		return "", storeError(err)
	}
	r.config[k] = l
	return l, nil
}

func scope(subject string) string {
	if subject == "" {
		return globalScope
	}
	return subject
}

// DeleteConfig removes subject's level (global: back to BACKWARD) and
// returns the level it had.
func (r *Registry) DeleteConfig(subject string) (schema.Level, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := scope(subject)
	prev, ok := r.config[k]
	if !ok {
		if subject != "" {
			return "", errorf(CodeSubjectLevelCompatMissing, "Subject '%s' does not have subject-level compatibility configured", subject)
		}
		prev = schema.Backward
	}
	if err := r.store.Apply([]Op{{Key: keyConfig + k}}); err != nil {
		return "", storeError(err)
	}
	delete(r.config, k)
	return prev, nil
}

// Mode returns subject's mode ("" = global).
func (r *Registry) Mode(subject string, defaultToGlobal bool) (string, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if subject != "" {
		if m, ok := r.mode[subject]; ok {
			return m, nil
		}
		if !defaultToGlobal {
			return "", errorf(CodeSubjectLevelModeMissing, "Subject '%s' does not have subject-level mode configured", subject)
		}
	}
	return r.modeLocked(""), nil
}

// SetMode sets subject's mode ("" = global). IMPORT needs an empty registry
// (or subject) unless force is set.
func (r *Registry) SetMode(subject, mode string, force bool) (string, error) {
	m := strings.ToUpper(mode)
	switch m {
	case ModeReadWrite, ModeReadOnly, ModeReadOnlyOverride, ModeImport:
	default:
		return "", errorf(CodeInvalidMode, "Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if m == ModeImport && !force {
		if subject == "" && len(r.subjects) > 0 {
			return "", errorf(CodeOperationNotPermitted, "Cannot import since found existing subjects")
		}
		if subject != "" && r.subjectExistsLocked(subject, true) {
			return "", errorf(CodeOperationNotPermitted, "Cannot import since found existing subjects")
		}
	}
	k := scope(subject)
	if err := r.store.Apply([]Op{{Key: keyMode + k, Value: []byte(m)}}); err != nil {
		return "", storeError(err)
	}
	r.mode[k] = m
	return m, nil
}

// DeleteMode removes subject's mode and returns the mode it had.
func (r *Registry) DeleteMode(subject string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := scope(subject)
	prev, ok := r.mode[k]
	if !ok {
		if subject != "" {
			return "", errorf(CodeSubjectLevelModeMissing, "Subject '%s' does not have subject-level mode configured", subject)
		}
		prev = ModeReadWrite
	}
	if err := r.store.Apply([]Op{{Key: keyMode + k}}); err != nil {
		return "", storeError(err)
	}
	delete(r.mode, k)
	return prev, nil
}
