package broker

// Schema validation topic configs, with Confluent Server's names. The broker
// stores and describes them and hands them to the append hooks
// (Append.Config.SchemaValidation); the schema registry's validator hook
// (internal/registry) checks produced records against them.
const (
	ConfigValueSchemaValidation  = "confluent.value.schema.validation"
	ConfigKeySchemaValidation    = "confluent.key.schema.validation"
	ConfigValueSubjectStrategy   = "confluent.value.subject.name.strategy"
	ConfigKeySubjectStrategy     = "confluent.key.subject.name.strategy"
	ConfigEddyValueSchemaCheck   = "eddy.value.schema.validation"
	ConfigEddyKeySchemaCheck     = "eddy.key.schema.validation"
	subjectStrategyPackage       = "io.confluent.kafka.serializers.subject."
	defaultSubjectNameStrategy   = subjectStrategyPackage + "TopicNameStrategy"
	schemaValidationDepthID      = "id"
	schemaValidationDepthFull    = "full"
	schemaValidationStrategyDocs = "How records map to subjects: TopicNameStrategy (<topic>-key/-value), RecordNameStrategy (the record's full name) or TopicRecordNameStrategy (<topic>-<record name>)."
)

// SchemaValidation is a topic's schema validation configs
// (TopicConfig.SchemaValidation); the zero value validates nothing.
type SchemaValidation struct {
	// Key and Value: confluent.{key,value}.schema.validation.
	Key, Value bool
	// KeyStrategy and ValueStrategy: confluent.{key,value}.subject.name.strategy
	// as given ("" is TopicNameStrategy).
	KeyStrategy, ValueStrategy string
	// KeyFull and ValueFull: eddy.{key,value}.schema.validation=full.
	KeyFull, ValueFull bool
}

func init() {
	strategies := oneOf(
		defaultSubjectNameStrategy, subjectStrategyPackage+"RecordNameStrategy", subjectStrategyPackage+"TopicRecordNameStrategy",
		"TopicNameStrategy", "RecordNameStrategy", "TopicRecordNameStrategy")
	configDefs[ConfigValueSchemaValidation] = configDef{kind: KindString, fixedDef: "false", check: oneOf("true", "false"),
		apply: func(c *TopicConfig, s string) { c.SchemaValidation.Value = s == "true" },
		doc:   "Require every record value to carry the schema registry wire format (magic byte 0, schema id) with an id registered under the value subject."}
	configDefs[ConfigKeySchemaValidation] = configDef{kind: KindString, fixedDef: "false", check: oneOf("true", "false"),
		apply: func(c *TopicConfig, s string) { c.SchemaValidation.Key = s == "true" },
		doc:   "Require every record key to carry the schema registry wire format with an id registered under the key subject."}
	configDefs[ConfigValueSubjectStrategy] = configDef{kind: KindString, fixedDef: defaultSubjectNameStrategy, check: strategies, doc: schemaValidationStrategyDocs,
		apply: func(c *TopicConfig, s string) { c.SchemaValidation.ValueStrategy = s }}
	configDefs[ConfigKeySubjectStrategy] = configDef{kind: KindString, fixedDef: defaultSubjectNameStrategy, check: strategies, doc: schemaValidationStrategyDocs,
		apply: func(c *TopicConfig, s string) { c.SchemaValidation.KeyStrategy = s }}
	configDefs[ConfigEddyValueSchemaCheck] = configDef{kind: KindString, fixedDef: schemaValidationDepthID, check: oneOf(schemaValidationDepthID, schemaValidationDepthFull),
		apply: func(c *TopicConfig, s string) { c.SchemaValidation.ValueFull = s == schemaValidationDepthFull },
		doc:   "With confluent.value.schema.validation=true: id checks the schema id only; full also decodes each value against its schema."}
	configDefs[ConfigEddyKeySchemaCheck] = configDef{kind: KindString, fixedDef: schemaValidationDepthID, check: oneOf(schemaValidationDepthID, schemaValidationDepthFull),
		apply: func(c *TopicConfig, s string) { c.SchemaValidation.KeyFull = s == schemaValidationDepthFull },
		doc:   "With confluent.key.schema.validation=true: id checks the schema id only; full also decodes each key against its schema."}
}
