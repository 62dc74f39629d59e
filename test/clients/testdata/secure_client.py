"""Produce and consume over an authenticated Eddy listener with kafka-python
or confluent-kafka.

usage: secure_client.py LIBRARY BOOTSTRAP CAFILE MECHANISM USER PASSWORD TOPIC

LIBRARY is kafka-python or confluent-kafka; MECHANISM is PLAIN,
SCRAM-SHA-256 or SCRAM-SHA-512 (over SASL_SSL). Prints "consumed VALUE"
for the record it produced, or "auth-failed: ..." and exits 3 when the
server refuses the login.
"""
import sys
import uuid

lib, bootstrap, cafile, mech, user, password, topic = sys.argv[1:8]
value = "secure-" + uuid.uuid4().hex

if lib == "kafka-python":
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.errors import KafkaError

    common = dict(
        bootstrap_servers=bootstrap,
        security_protocol="SASL_SSL",
        ssl_cafile=cafile,
        ssl_check_hostname=False,
        sasl_mechanism=mech,
        sasl_plain_username=user,
        sasl_plain_password=password,
        request_timeout_ms=15000,
        api_version_auto_timeout_ms=10000,
    )
    try:
        p = KafkaProducer(**common)
        p.send(topic, value.encode()).get(timeout=20)
        p.close()
    except Exception as e:  # noqa: BLE001 - any failure to log in is the answer
        print("auth-failed:", type(e).__name__, e)
        sys.exit(3)
    c = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=15000, **common)
    for msg in c:
        if msg.value.decode() == value:
            print("consumed", value)
            break
    c.close()
elif lib == "confluent-kafka":
    from confluent_kafka import Consumer, KafkaException, Producer

    errors = []
    common = {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": cafile,
        "sasl.mechanisms": mech,
        "sasl.username": user,
        "sasl.password": password,
        "error_cb": lambda err: errors.append(err),
    }
    p = Producer(dict(common, **{"message.timeout.ms": 15000}))
    delivered = []
    p.produce(topic, value.encode(), on_delivery=lambda err, msg: delivered.append(err))
    p.flush(20)
    if not delivered or delivered[0] is not None:
        print("auth-failed:", delivered, [str(e) for e in errors])
        sys.exit(3)
    c = Consumer(dict(common, **{"group.id": "secure-" + uuid.uuid4().hex, "auto.offset.reset": "earliest"}))
    c.subscribe([topic])
    for _ in range(60):
        m = c.poll(0.5)
        if m is not None and m.error() is None and m.value().decode() == value:
            print("consumed", value)
            break
    c.close()
else:
    sys.exit("unknown library " + lib)
