"""A kafka-python consumer without a group: it assigns itself every
partition of a topic, reads from the beginning, and prints COUNT records as
JSON lines {"partition", "offset", "key", "value"}, then exits.

usage: assigned_consumer.py BOOTSTRAP TOPIC COUNT
"""
import json
import sys
import time

from kafka import KafkaConsumer, TopicPartition

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
consumer = KafkaConsumer(
    bootstrap_servers=[bootstrap],
    group_id=None,
    enable_auto_commit=False,
    value_deserializer=lambda m: json.loads(m.decode('utf-8')),
)
partitions = None
deadline = time.time() + 30
while not partitions:
    if time.time() > deadline:
        sys.exit(f"no partitions for topic {topic}")
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        time.sleep(0.1)
tps = [TopicPartition(topic, p) for p in sorted(partitions)]
consumer.assign(tps)
consumer.seek_to_beginning(*tps)
seen = 0
while seen < count:
    for tp, messages in consumer.poll(timeout_ms=1000).items():
        for m in messages:
            print(json.dumps({
                'partition': m.partition,
                'offset': m.offset,
                'key': m.key.decode('utf-8') if m.key is not None else None,
                'value': m.value,
            }), flush=True)
            seen += 1
consumer.close()
