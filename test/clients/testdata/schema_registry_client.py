"""confluent-kafka's SchemaRegistryClient and its JSON and Protobuf
serializers against Eddy's broker and schema registry, end to end.

usage:
  schema_registry_client.py BOOTSTRAP REGISTRY_URL

Avro goes through SchemaRegistryClient and the Apache avro library with the
Confluent wire format written here, since confluent-kafka's AvroSerializer
needs fastavro, which Debian does not package. Prints one JSON line per
check; exits non-zero on the first failure.
"""
import io
import json
import struct
import sys

import avro.io
import avro.schema
from confluent_kafka import Consumer, DeserializingConsumer, Producer, SerializingProducer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import StringDeserializer, StringSerializer
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2

ORDER_V1 = {
    "type": "record", "name": "OrderCreated", "namespace": "shop",
    "fields": [{"name": "orderId", "type": "string"}, {"name": "amountCents", "type": "long"}],
}
ORDER_V2 = dict(ORDER_V1, fields=ORDER_V1["fields"] + [
    {"name": "couponCode", "type": ["null", "string"], "default": None}])
ORDER_BAD = dict(ORDER_V1, fields=ORDER_V1["fields"] + [{"name": "currency", "type": "string"}])

JSON_SCHEMA = json.dumps({
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Payment", "type": "object",
    "properties": {"paymentId": {"type": "string"}, "amount": {"type": "number", "minimum": 0}},
    "required": ["paymentId", "amount"],
})


def out(**kw):
    print(json.dumps(kw, sort_keys=True), flush=True)


def check(cond, what):
    if not cond:
        sys.exit("FAILED: " + what)


def consume(bootstrap, topic, n, value_deserializer=None):
    conf = {"bootstrap.servers": bootstrap, "group.id": "sr-" + topic,
            "auto.offset.reset": "earliest", "enable.auto.commit": False}
    if value_deserializer is None:
        c = Consumer(conf)
    else:
        conf["key.deserializer"] = StringDeserializer("utf_8")
        conf["value.deserializer"] = value_deserializer
        c = DeserializingConsumer(conf)
    c.subscribe([topic])
    got = []
    for _ in range(600):
        m = c.poll(0.1)
        if m is None:
            continue
        if m.error():
            sys.exit(f"consume {topic}: {m.error()}")
        got.append(m.value())
        if len(got) == n:
            break
    c.close()
    check(len(got) == n, f"consumed {len(got)} of {n} from {topic}")
    return got


def produce_all(p, topic, items, **kw):
    errs = []
    for key, value in items:
        p.produce(topic, key=key, value=value, on_delivery=lambda e, m: e and errs.append(e), **kw)
    left = p.flush(30)
    check(not left and not errs, f"produce to {topic}: {left} undelivered, {errs[:2]}")


def registry_api(client):
    s1 = Schema(json.dumps(ORDER_V1), "AVRO")
    id1 = client.register_schema("orders-value", s1)
    check(client.register_schema("orders-value", s1) == id1, "re-registering returns the same id")
    check(client.register_schema("archive-value", s1) == id1, "same schema, other subject, same id")
    id2 = client.register_schema("orders-value", Schema(json.dumps(ORDER_V2), "AVRO"))
    check(id2 != id1, "v2 gets a new id")
    try:
        client.register_schema("orders-value", Schema(json.dumps(ORDER_BAD), "AVRO"))
        sys.exit("FAILED: an incompatible schema was registered")
    except SchemaRegistryError as e:
        check(e.http_status_code == 409 and e.error_code == 409, f"409 for incompatible, got {e}")
        check("currency" in e.error_message, "the 409 names the field")
        out(check="incompatible_refused", message=e.error_message[:80])
    check(not client.test_compatibility("orders-value", Schema(json.dumps(ORDER_BAD), "AVRO")), "test_compatibility false")
    check(client.test_compatibility("orders-value", Schema(json.dumps(ORDER_V2), "AVRO")), "test_compatibility true")
    latest = client.get_latest_version("orders-value")
    check(latest.version == 2 and latest.schema_id == id2, f"latest {latest.version} {latest.schema_id}")
    reg = client.lookup_schema("orders-value", s1)
    check(reg.version == 1 and reg.schema_id == id1, "lookup")
    check(client.get_versions("orders-value") == [1, 2], "versions")
    check(sorted(client.get_subjects()) == ["archive-value", "orders-value"], f"subjects {client.get_subjects()}")
    check(client.get_compatibility() == "BACKWARD", "global compatibility")
    check(json.loads(client.get_schema(id2).schema_str)["fields"][2]["name"] == "couponCode", "get_schema by id")
    client.set_compatibility("orders-value", "FULL")
    check(client.get_compatibility("orders-value") == "FULL", "subject compatibility")
    client.register_schema("scratch-value", s1)
    client.register_schema("scratch-value", Schema(json.dumps(ORDER_V2), "AVRO"))
    check(client.delete_version("scratch-value", 2) == 2, "soft delete version")
    try:
        client.get_version("scratch-value", 2)
        sys.exit("FAILED: a soft-deleted version is readable")
    except SchemaRegistryError as e:
        check(e.http_status_code == 404 and e.error_code == 40402, f"deleted version: {e}")
    check(client.get_versions("scratch-value") == [1], "versions after soft delete")
    check(client.delete_subject("archive-value", permanent=True) == [1], "permanent delete")
    try:
        client.get_schema(9999)
        sys.exit("FAILED: schema 9999 exists")
    except SchemaRegistryError as e:
        check(e.error_code == 40403, f"unknown id: {e}")
    out(check="registry_api", ids=[id1, id2])
    return id2


def avro_roundtrip(bootstrap, client, id2):
    topic = "orders"
    schema = avro.schema.parse(json.dumps(ORDER_V2))
    items = []
    for n in range(10):
        buf = io.BytesIO()
        buf.write(struct.pack(">bI", 0, id2))
        avro.io.DatumWriter(schema).write(
            {"orderId": f"o-{n}", "amountCents": n * 100, "couponCode": None if n % 2 else "SAVE"},
            avro.io.BinaryEncoder(buf))
        items.append((f"o-{n}", buf.getvalue()))
    produce_all(Producer({"bootstrap.servers": bootstrap}), topic, items)
    got = []
    for raw in consume(bootstrap, topic, 10):
        magic, sid = struct.unpack(">bI", raw[:5])
        check(magic == 0, "magic byte")
        writer = avro.schema.parse(client.get_schema(sid).schema_str)
        got.append(avro.io.DatumReader(writer).read(avro.io.BinaryDecoder(io.BytesIO(raw[5:]))))
    check([g["amountCents"] for g in got] == [n * 100 for n in range(10)], f"avro values {got[:2]}")
    out(check="avro_roundtrip", records=len(got))


def json_roundtrip(bootstrap, client):
    topic = "payments"
    p = SerializingProducer({
        "bootstrap.servers": bootstrap,
        "key.serializer": StringSerializer("utf_8"),
        "value.serializer": JSONSerializer(JSON_SCHEMA, client),
    })
    errs = []
    for n in range(10):
        p.produce(topic, key=f"p-{n}", value={"paymentId": f"p-{n}", "amount": n * 1.5},
                  on_delivery=lambda e, m: e and errs.append(e))
    check(p.flush(30) == 0 and not errs, f"json produce {errs[:2]}")
    got = consume(bootstrap, topic, 10, JSONDeserializer(JSON_SCHEMA))
    check([g["paymentId"] for g in got] == [f"p-{n}" for n in range(10)], f"json values {got[:2]}")
    sid = client.get_latest_version(topic + "-value").schema_id
    check(client.get_schema(sid).schema_type == "JSON", "JSON schemaType")
    out(check="json_roundtrip", records=len(got), id=sid)


def order_message_class():
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    money = descriptor_pb2.FileDescriptorProto(name="shop/money.proto", package="shop", syntax="proto3")
    m = money.message_type.add(name="Money")
    m.field.add(name="units", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
                label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool.Add(money)
    order = descriptor_pb2.FileDescriptorProto(
        name="shop/order.proto", package="shop", syntax="proto3",
        dependency=["shop/money.proto", "google/protobuf/timestamp.proto"])
    o = order.message_type.add(name="OrderShipped")
    opt = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
    o.field.add(name="orderId", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING, label=opt)
    o.field.add(name="total", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
                type_name=".shop.Money", label=opt)
    o.field.add(name="at", number=3, type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
                type_name=".google.protobuf.Timestamp", label=opt)
    pool.Add(order)
    return message_factory.MessageFactory(pool).GetPrototype(pool.FindMessageTypeByName("shop.OrderShipped"))


def protobuf_roundtrip(bootstrap, client):
    topic = "shipments"
    cls = order_message_class()
    p = SerializingProducer({
        "bootstrap.servers": bootstrap,
        "key.serializer": StringSerializer("utf_8"),
        "value.serializer": ProtobufSerializer(cls, client),
    })
    errs = []
    for n in range(10):
        msg = cls(orderId=f"s-{n}")
        msg.total.units = n
        msg.at.seconds = 1700000000 + n
        p.produce(topic, key=f"s-{n}", value=msg, on_delivery=lambda e, m: e and errs.append(e))
    check(p.flush(30) == 0 and not errs, f"protobuf produce {errs[:2]}")
    got = consume(bootstrap, topic, 10, ProtobufDeserializer(cls))
    check([g.total.units for g in got] == list(range(10)), f"protobuf values {got[:2]}")
    latest = client.get_latest_version(topic + "-value")
    refs = sorted(r["name"] if isinstance(r, dict) else r.name for r in latest.schema.references)
    check("shop/money.proto" in refs, f"references {refs}")
    out(check="protobuf_roundtrip", records=len(got), references=refs)


def main():
    bootstrap, url = sys.argv[1], sys.argv[2]
    client = SchemaRegistryClient({"url": url})
    id2 = registry_api(client)
    avro_roundtrip(bootstrap, client, id2)
    json_roundtrip(bootstrap, client)
    protobuf_roundtrip(bootstrap, client)


if __name__ == "__main__":
    main()
