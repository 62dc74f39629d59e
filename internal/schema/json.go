package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// jsonBase is the URL a JSON schema without $id is compiled at; relative
// references resolve against it.
const jsonBase = "https://schema-registry.invalid/"

type jsonSchema struct {
	s         *jsonschema.Schema
	root      any            // the schema document, decoded with UseNumber
	deps      map[string]any // referenced documents by resolved URL and by name
	canonical string
}

// noLoader refuses every URL that is not a registered reference: a registry
// must not read files or the network because a schema says so.
type noLoader struct{}

func (noLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("$ref %q is neither in the schema nor one of its references", u)
}

func decodeJSON(text string) (any, error) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	return doc, nil
}

func compileJSON(text string, deps []Dep) (Compiled, error) {
	doc, err := decodeJSON(text)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.UseLoader(noLoader{})
	js := &jsonSchema{root: doc, deps: map[string]any{}}
	if err := js.addDeps(c, deps, map[string]bool{}); err != nil {
		return nil, err
	}
	loc := jsonBase + "schema.json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, err
	}
	s, err := c.Compile(loc)
	if err != nil {
		return nil, err
	}
	js.s = s
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(text)); err != nil {
		return nil, err
	}
	js.canonical = b.String()
	return js, nil
}

func (js *jsonSchema) addDeps(c *jsonschema.Compiler, deps []Dep, seen map[string]bool) error {
	for _, d := range deps {
		if seen[d.Name] {
			continue
		}
		seen[d.Name] = true
		if d.Type != JSON && d.Type != "" {
			return fmt.Errorf("reference %q is %s, a JSON schema can only reference JSON schemas", d.Name, d.Type)
		}
		doc, err := decodeJSON(d.Text)
		if err != nil {
			return fmt.Errorf("reference %q: %w", d.Name, err)
		}
		loc := resolveRef(d.Name)
		if err := c.AddResource(loc, doc); err != nil {
			return fmt.Errorf("reference %q: %w", d.Name, err)
		}
		js.deps[loc] = doc
		js.deps[d.Name] = doc
		if err := js.addDeps(c, d.Deps, seen); err != nil {
			return err
		}
	}
	return nil
}

// resolveRef makes a reference name absolute against jsonBase.
func resolveRef(name string) string {
	base, _ := url.Parse(jsonBase)
	u, err := url.Parse(name)
	if err != nil {
		return name
	}
	return base.ResolveReference(u).String()
}

func (js *jsonSchema) Type() Type        { return JSON }
func (js *jsonSchema) Canonical() string { return js.canonical }

// Validate parses payload as JSON and validates it against the schema.
func (js *jsonSchema) Validate(payload []byte, _ []int) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("payload is not JSON: %w", err)
	}
	if err := js.s.Validate(v); err != nil {
		return fmt.Errorf("payload does not conform to the JSON schema: %s", flatten(err))
	}
	return nil
}

// ValidateValue validates an already decoded JSON value (from
// jsonschema.UnmarshalJSON or encoding/json with UseNumber).
func (js *jsonSchema) ValidateValue(v any) error {
	if err := js.s.Validate(v); err != nil {
		return fmt.Errorf("does not conform to the JSON schema: %s", flatten(err))
	}
	return nil
}

func flatten(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func (js *jsonSchema) readerOf(w Compiled) []string {
	ws := w.(*jsonSchema)
	c := jsonCompat{r: js, w: ws}
	c.check(js.root, ws.root, "#", 0)
	return c.out
}
