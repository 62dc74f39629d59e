package schema

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// protoMainFile is the path a Protobuf schema given as text is compiled at.
const protoMainFile = "schema.proto"

// builtinProtos are resolvable by every Protobuf schema without being
// registered, as in Confluent's registry (the google/protobuf/*.proto
// well-known types come from protocompile's standard imports).
var builtinProtos = map[string]string{
	"confluent/meta.proto": `syntax = "proto3";
package confluent;
import "google/protobuf/descriptor.proto";
option go_package = "github.com/confluentinc/schema-registry/confluent";
message Meta {
  string doc = 1;
  map<string, string> params = 2;
  repeated string tags = 3;
}
extend google.protobuf.FileOptions { Meta file_meta = 1088; }
extend google.protobuf.MessageOptions { Meta message_meta = 1088; }
extend google.protobuf.FieldOptions { Meta field_meta = 1088; }
extend google.protobuf.EnumOptions { Meta enum_meta = 1088; }
extend google.protobuf.EnumValueOptions { Meta enum_value_meta = 1088; }
`,
	"confluent/type/decimal.proto": `syntax = "proto3";
package confluent.type;
option go_package = "github.com/confluentinc/schema-registry/confluent/type/decimal";
message Decimal {
  bytes value = 1;
  uint32 precision = 2;
  int32 scale = 3;
}
`,
}

type protoSchema struct {
	fd        protoreflect.FileDescriptor
	canonical string
}

// protoSource returns the file for a schema text: Protobuf source, or a
// base64-encoded serialized FileDescriptorProto (what confluent-kafka's
// Python serializer registers).
func protoSource(name, text string) (protocompile.SearchResult, string) {
	trimmed := strings.TrimSpace(text)
	if b, err := base64.StdEncoding.DecodeString(trimmed); err == nil && len(b) > 0 {
		var fdp descriptorpb.FileDescriptorProto
		if proto.Unmarshal(b, &fdp) == nil && (len(fdp.GetMessageType()) > 0 || len(fdp.GetEnumType()) > 0 || fdp.GetSyntax() != "") {
			if fdp.GetName() != "" && name == protoMainFile {
				name = fdp.GetName()
			}
			fdp.Name = proto.String(name)
			fillJSONNames(fdp.GetMessageType())
			return protocompile.SearchResult{Proto: &fdp}, name
		}
	}
	return protocompile.SearchResult{Source: strings.NewReader(text)}, name
}

// fillJSONNames gives fields without a json_name their default one, as
// protoc does: serialized descriptors from some serializers leave it out,
// and the linker would take the absent name for an empty custom one.
func fillJSONNames(msgs []*descriptorpb.DescriptorProto) {
	for _, m := range msgs {
		for _, f := range m.GetField() {
			if f.GetJsonName() == "" {
				f.JsonName = proto.String(defaultJSONName(f.GetName()))
			}
		}
		fillJSONNames(m.GetNestedType())
	}
}

// defaultJSONName is protoc's JSON name of a field: lowerCamelCase, with
// underscores dropped and the letter after each one upper-cased.
func defaultJSONName(name string) string {
	var b strings.Builder
	up := false
	for _, r := range name {
		if r == '_' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

func compileProtobuf(text string, deps []Dep) (Compiled, error) {
	files := map[string]protocompile.SearchResult{}
	if err := addProtoDeps(files, deps); err != nil {
		return nil, err
	}
	main, mainName := protoSource(protoMainFile, text)
	files[mainName] = main
	// The compiler resolves a file's imports concurrently.
	var filesMu sync.Mutex
	resolver := protocompile.WithStandardImports(protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
		filesMu.Lock()
		r, ok := files[path]
		if ok && r.Source != nil {
			// A SearchResult's reader is consumed once per compile.
			delete(files, path)
		}
		filesMu.Unlock()
		if ok {
			return r, nil
		}
		if src, ok := builtinProtos[path]; ok {
			return protocompile.SearchResult{Source: strings.NewReader(src)}, nil
		}
		return protocompile.SearchResult{}, fmt.Errorf("import %q is neither a registered reference nor a well-known type: %w", path, errNotFound)
	}))
	var errs []string
	c := protocompile.Compiler{
		Resolver: resolver,
		Reporter: reporter.NewReporter(func(err reporter.ErrorWithPos) error {
			errs = append(errs, err.Error())
			return nil
		}, nil),
	}
	out, err := c.Compile(context.Background(), mainName)
	if err != nil {
		if len(errs) > 0 {
			return nil, errors.New(strings.Join(errs, "; "))
		}
		return nil, err
	}
	fd := out[0]
	fdp := protodesc.ToFileDescriptorProto(fd)
	fdp.SourceCodeInfo = nil
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(fdp)
	if err != nil {
		return nil, fmt.Errorf("canonical form: %w", err)
	}
	return &protoSchema{fd: fd, canonical: base64.StdEncoding.EncodeToString(b)}, nil
}

var errNotFound = errors.New("not found")

func addProtoDeps(files map[string]protocompile.SearchResult, deps []Dep) error {
	for _, d := range deps {
		if _, ok := files[d.Name]; ok {
			continue
		}
		if d.Type != Protobuf && d.Type != "" {
			return fmt.Errorf("reference %q is %s, a Protobuf schema can only import Protobuf schemas", d.Name, d.Type)
		}
		files[d.Name], _ = protoSource(d.Name, d.Text)
		if err := addProtoDeps(files, d.Deps); err != nil {
			return err
		}
	}
	return nil
}

func (p *protoSchema) Type() Type        { return Protobuf }
func (p *protoSchema) Canonical() string { return p.canonical }

// Message returns the message that message indexes select: the first index
// into the file's top-level messages, each next one into the nested messages
// of the previous. No indexes select the first message.
func (p *protoSchema) Message(index []int) (protoreflect.MessageDescriptor, error) {
	if len(index) == 0 {
		index = []int{0}
	}
	msgs := p.fd.Messages()
	var md protoreflect.MessageDescriptor
	for depth, i := range index {
		if i < 0 || i >= msgs.Len() {
			return nil, fmt.Errorf("message index %v: no message %d at depth %d (%d there)", index, i, depth, msgs.Len())
		}
		md = msgs.Get(i)
		msgs = md.Messages()
	}
	return md, nil
}

// Validate decodes payload as the message the indexes select.
func (p *protoSchema) Validate(payload []byte, index []int) error {
	md, err := p.Message(index)
	if err != nil {
		return err
	}
	m := dynamicpb.NewMessage(md)
	if err := (proto.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(payload, m); err != nil {
		return fmt.Errorf("protobuf payload does not decode as %s: %w", md.FullName(), err)
	}
	if len(m.GetUnknown()) > 0 {
		return fmt.Errorf("protobuf payload has fields unknown to %s", md.FullName())
	}
	return nil
}
