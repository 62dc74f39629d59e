package broker

// Schema validation topic configs, with Confluent Server's names. The broker
// only stores and describes them; the schema registry's validator
// (internal/registry) reads them and checks produced records.
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

func init() {
	strategies := oneOf(
		defaultSubjectNameStrategy, subjectStrategyPackage+"RecordNameStrategy", subjectStrategyPackage+"TopicRecordNameStrategy",
		"TopicNameStrategy", "RecordNameStrategy", "TopicRecordNameStrategy")
	configDefs[ConfigValueSchemaValidation] = configDef{kind: KindString, fixedDef: "false", check: oneOf("true", "false"),
		doc: "Require every record value to carry the schema registry wire format (magic byte 0, schema id) with an id registered under the value subject."}
	configDefs[ConfigKeySchemaValidation] = configDef{kind: KindString, fixedDef: "false", check: oneOf("true", "false"),
		doc: "Require every record key to carry the schema registry wire format with an id registered under the key subject."}
	configDefs[ConfigValueSubjectStrategy] = configDef{kind: KindString, fixedDef: defaultSubjectNameStrategy, check: strategies, doc: schemaValidationStrategyDocs}
	configDefs[ConfigKeySubjectStrategy] = configDef{kind: KindString, fixedDef: defaultSubjectNameStrategy, check: strategies, doc: schemaValidationStrategyDocs}
	configDefs[ConfigEddyValueSchemaCheck] = configDef{kind: KindString, fixedDef: schemaValidationDepthID, check: oneOf(schemaValidationDepthID, schemaValidationDepthFull),
		doc: "With confluent.value.schema.validation=true: id checks the schema id only; full also decodes each value against its schema."}
	configDefs[ConfigEddyKeySchemaCheck] = configDef{kind: KindString, fixedDef: schemaValidationDepthID, check: oneOf(schemaValidationDepthID, schemaValidationDepthFull),
		doc: "With confluent.key.schema.validation=true: id checks the schema id only; full also decodes each key against its schema."}
}
