// Eddy's registry and broker through Confluent's Node.js schema registry
// client (@confluentinc/schemaregistry) and its Avro, JSON Schema and
// Protobuf serializers, with kafkajs producing and consuming the records.
// Usage: node schema_registry.js BROKER REGISTRY_URL
// Prints one JSON line per passed check; exits non-zero on the first failure.
'use strict';
const { Kafka, logLevel } = require('kafkajs');
const sr = require('@confluentinc/schemaregistry');
const { create, createFileRegistry, createMutableRegistry } = require('@bufbuild/protobuf');
const { FileDescriptorProtoSchema, file_google_protobuf_timestamp } = require('@bufbuild/protobuf/wkt');

const [broker, registryURL] = process.argv.slice(2);
const client = new sr.SchemaRegistryClient({ baseURLs: [registryURL] });

function check(ok, what) {
  if (!ok) {
    throw new Error('check failed: ' + what);
  }
}

// show renders a value for a failure message (BigInts as strings).
function show(v) {
  return JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x));
}

function pass(name, detail) {
  console.log(JSON.stringify(Object.assign({ check: name }, detail || {})));
}

const orderV1 = JSON.stringify({
  type: 'record', name: 'OrderCreated', namespace: 'shop', fields: [
    { name: 'orderId', type: 'string' },
    { name: 'amountCents', type: 'long' }],
});
const orderV2 = JSON.stringify({
  type: 'record', name: 'OrderCreated', namespace: 'shop', fields: [
    { name: 'orderId', type: 'string' },
    { name: 'amountCents', type: 'long' },
    { name: 'currency', type: ['null', 'string'], default: null }],
});
const orderV3Bad = JSON.stringify({
  type: 'record', name: 'OrderCreated', namespace: 'shop', fields: [
    { name: 'orderId', type: 'string' },
    { name: 'amountCents', type: 'long' },
    { name: 'channel', type: 'string' }],
});

async function registryAPI() {
  const subject = 'orders-value';
  const id1 = await client.register(subject, { schemaType: 'AVRO', schema: orderV1 });
  const again = await client.register(subject, { schemaType: 'AVRO', schema: orderV1 });
  check(id1 > 0 && again === id1, `same schema, same id: ${id1} ${again}`);
  check(await client.testSubjectCompatibility(subject, { schemaType: 'AVRO', schema: orderV2 }), 'v2 compatible');
  check(!(await client.testSubjectCompatibility(subject, { schemaType: 'AVRO', schema: orderV3Bad })), 'v3 incompatible');
  const id2 = await client.register(subject, { schemaType: 'AVRO', schema: orderV2 });
  check(id2 !== id1, 'v2 new id');
  let refused = null;
  try {
    await client.register(subject, { schemaType: 'AVRO', schema: orderV3Bad });
  } catch (e) {
    refused = e;
  }
  check(refused && refused.status === 409 && /channel/.test(refused.message), `409 naming the field: ${refused}`);
  pass('incompatible_refused', { status: refused.status, code: refused.errorCode });

  const latest = await client.getLatestSchemaMetadata(subject);
  check(latest.version === 2 && latest.id === id2, `latest ${JSON.stringify(latest)}`);
  const v1 = await client.getSchemaMetadata(subject, 1);
  check(v1.id === id1 && v1.schema === orderV1, `v1 ${JSON.stringify(v1)}`);
  check(JSON.stringify(await client.getAllVersions(subject)) === '[1,2]', 'versions');
  check(await client.getVersion(subject, { schemaType: 'AVRO', schema: orderV1 }) === 1, 'lookup v1');
  check(await client.getId(subject, { schemaType: 'AVRO', schema: orderV2 }) === id2, 'id of v2');
  const byId = await client.getBySubjectAndId(subject, id1);
  check(byId.schema === orderV1, `by id ${JSON.stringify(byId)}`);
  check((await client.getAllSubjects()).includes(subject), 'subjects');
  check(await client.updateCompatibility('scratch-value', 'FULL') === 'FULL', 'set FULL');
  check(await client.getCompatibility('scratch-value') === 'FULL', 'get FULL');
  check(await client.getDefaultCompatibility() === 'BACKWARD', 'default BACKWARD');

  // Soft then permanent delete.
  await client.register('scratch-value', { schemaType: 'AVRO', schema: '"string"' });
  check(JSON.stringify(await client.deleteSubject('scratch-value')) === '[1]', 'soft delete');
  check(!(await client.getAllSubjects()).includes('scratch-value'), 'soft-deleted subject hidden');
  check(JSON.stringify(await client.deleteSubject('scratch-value', true)) === '[1]', 'permanent delete');
  let gone = null;
  try {
    await client.getLatestSchemaMetadata('scratch-value');
  } catch (e) {
    gone = e;
  }
  check(gone && gone.status === 404 && gone.errorCode === 40401, `40401 after delete: ${gone}`);
  pass('registry_api', { ids: [id1, id2] });
}

const kafka = new Kafka({ clientId: 'eddy-sr-js', brokers: [broker], logLevel: logLevel.NOTHING });

async function roundtrip(name, topic, ser, deser, values, equal) {
  const producer = kafka.producer();
  await producer.connect();
  const messages = [];
  for (let i = 0; i < values.length; i++) {
    messages.push({ key: String(i), value: await ser.serialize(topic, values[i]) });
  }
  for (const m of messages) {
    check(m.value[0] === 0 && m.value.length > 5, `${name}: Confluent wire format`);
  }
  await producer.send({ topic, messages });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: 'sr-js-' + topic });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: consumed ${got.length} of ${values.length}`)), 30000);
    consumer.run({
      eachMessage: async ({ message }) => {
        got.push(await deser.deserialize(topic, message.value));
        if (got.length === values.length) {
          clearTimeout(timer);
          resolve();
        }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  for (let i = 0; i < values.length; i++) {
    check(equal(got[i], values[i]), `${name} record ${i}: ${show(got[i])} != ${show(values[i])}`);
  }
  pass(name + '_roundtrip', { records: got.length });
}

async function avro() {
  // The latest version of orders-value (v2, with the optional currency).
  const ser = new sr.AvroSerializer(client, sr.SerdeType.VALUE, { useLatestVersion: true });
  const deser = new sr.AvroDeserializer(client, sr.SerdeType.VALUE, {});
  const values = [
    { orderId: 'o-1', amountCents: 1250, currency: null },
    { orderId: 'o-2', amountCents: 99900, currency: 'EUR' },
  ];
  await roundtrip('avro', 'orders', ser, deser, values,
    (a, b) => a.orderId === b.orderId && Number(a.amountCents) === b.amountCents && a.currency === b.currency);
}

async function json() {
  const schema = JSON.stringify({
    $schema: 'http://json-schema.org/draft-07/schema#', title: 'PaymentCaptured', type: 'object',
    properties: { paymentId: { type: 'string' }, amount: { type: 'number', minimum: 0 } },
    required: ['paymentId', 'amount'],
  });
  await client.register('payments-value', { schemaType: 'JSON', schema });
  const ser = new sr.JsonSerializer(client, sr.SerdeType.VALUE, { useLatestVersion: true, validate: true });
  const deser = new sr.JsonDeserializer(client, sr.SerdeType.VALUE, { validate: true });
  const values = [{ paymentId: 'p-1', amount: 12.5 }, { paymentId: 'p-2', amount: 999 }];
  await roundtrip('json', 'payments', ser, deser, values,
    (a, b) => a.paymentId === b.paymentId && a.amount === b.amount);
}

async function protobuf() {
  // shop/shipment.proto, built as a descriptor at run time (what protoc-gen-es
  // generates), importing a well-known type.
  const fdp = create(FileDescriptorProtoSchema, {
    name: 'shop/shipment.proto',
    package: 'shop',
    syntax: 'proto3',
    dependency: ['google/protobuf/timestamp.proto'],
    messageType: [{
      name: 'ShipmentSent',
      field: [
        { name: 'shipment_id', jsonName: 'shipmentId', number: 1, label: 1, type: 9 },
        { name: 'items', number: 2, label: 1, type: 5, jsonName: 'items' },
        { name: 'sent_at', jsonName: 'sentAt', number: 3, label: 1, type: 11, typeName: '.google.protobuf.Timestamp' },
      ],
    }],
  });
  const files = createFileRegistry(fdp, (name) => name === 'google/protobuf/timestamp.proto' ? file_google_protobuf_timestamp : undefined);
  const desc = files.getMessage('shop.ShipmentSent');
  check(desc, 'descriptor built');
  const registry = createMutableRegistry(files.getFile('shop/shipment.proto'));
  const ser = new sr.ProtobufSerializer(client, sr.SerdeType.VALUE, { autoRegisterSchemas: true, registry });
  const deser = new sr.ProtobufDeserializer(client, sr.SerdeType.VALUE, {});
  const values = [
    create(desc, { shipmentId: 's-1', items: 3, sentAt: { seconds: 1700000000n, nanos: 5 } }),
    create(desc, { shipmentId: 's-2', items: 1 }),
  ];
  await roundtrip('protobuf', 'shipments', ser, deser, values,
    (a, b) => a.shipmentId === b.shipmentId && a.items === b.items &&
      String(a.sentAt && a.sentAt.seconds) === String(b.sentAt && b.sentAt.seconds));
  const latest = await client.getLatestSchemaMetadata('shipments-value');
  check(latest.schemaType === 'PROTOBUF', `shipments-value registered: ${JSON.stringify(latest)}`);
}

(async () => {
  await registryAPI();
  await avro();
  await json();
  await protobuf();
})().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
