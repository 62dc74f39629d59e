"""Reads a topic (or an Eddy view) with kafka-python or confluent-kafka and
prints each record as one line: PARTITION OFFSET KEY VALUE HEADERS (headers
as k=v joined by commas), then exits after COUNT records.

usage: view_consumer.py LIB BOOTSTRAP TOPIC GROUP COUNT [LINGER]
  LIB    kafka-python or confluent
  GROUP  "-" assigns every partition from the beginning (no group);
         otherwise joins GROUP (earliest when it has no offset) and commits
         each record synchronously after printing it
  LINGER seconds to keep polling after COUNT records (default 0)
"""
import sys
import time

lib, bootstrap, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
linger = float(sys.argv[6]) if len(sys.argv) > 6 else 0


def line(p, o, k, v, hs):
    hdrs = ','.join(f"{hk}={hv.decode('utf-8') if hv is not None else ''}" for hk, hv in (hs or []))
    key = k.decode('utf-8') if k is not None else ''
    val = v.decode('utf-8') if v is not None else ''
    print(f"{p} {o} {key} {val} {hdrs}", flush=True)


deadline = time.time() + 60
if lib == 'kafka-python':
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=[bootstrap], group_id=None if group == '-' else group,
                      enable_auto_commit=False, auto_offset_reset='earliest')
    if group == '-':
        parts = None
        while not parts:
            parts = c.partitions_for_topic(topic)
            if not parts:
                time.sleep(0.1)
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
    else:
        c.subscribe([topic])
    seen = 0
    while seen < count:
        if time.time() > deadline:
            sys.exit(f"read {seen} of {count} records")
        for tp, msgs in c.poll(timeout_ms=500).items():
            for m in msgs:
                if seen >= count:
                    break
                line(m.partition, m.offset, m.key, m.value, m.headers)
                if group != '-':
                    c.commit({tp: __import__('kafka').OffsetAndMetadata(m.offset + 1, None)})
                seen += 1
    end = time.time() + linger
    while time.time() < end:
        for tp, msgs in c.poll(timeout_ms=200).items():
            sys.exit(f"{len(msgs)} records beyond COUNT")
    c.close()
elif lib == 'confluent':
    from confluent_kafka import Consumer, KafkaException, TopicPartition, OFFSET_BEGINNING
    conf = {'bootstrap.servers': bootstrap, 'enable.auto.commit': False, 'auto.offset.reset': 'earliest',
            'group.id': group if group != '-' else 'unused-assign-only'}
    c = Consumer(conf)
    if group == '-':
        md = c.list_topics(topic, timeout=30)
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(md.topics[topic].partitions)])
    else:
        c.subscribe([topic])
    seen = 0
    while seen < count:
        if time.time() > deadline:
            sys.exit(f"read {seen} of {count} records")
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            raise KafkaException(m.error())
        line(m.partition(), m.offset(), m.key(), m.value(), m.headers())
        if group != '-':
            c.commit(message=m, asynchronous=False)
        seen += 1
    end = time.time() + linger
    while time.time() < end:
        m = c.poll(0.2)
        if m is not None and not m.error():
            sys.exit("a record beyond COUNT")
    c.close()
else:
    sys.exit(f"unknown lib {lib}")
