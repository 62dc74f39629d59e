"""confluent-kafka (librdkafka) producer and manual-commit group consumer.

usage:
  confluent_client.py produce BOOTSTRAP TOPIC FIRST COUNT [KEY=VALUE...]
      produce values FIRST..FIRST+COUNT-1 keyed key-<n> with a header
      n=<n>; extra librdkafka settings (compression.type=zstd,
      enable.idempotence=true, acks=1 ...) follow; exit 1 if any delivery
      fails
  confluent_client.py consume BOOTSTRAP TOPIC GROUP COUNT
      join GROUP with enable.auto.commit=false, print COUNT values, and
      commit each message synchronously after printing it
"""
import sys

from confluent_kafka import Consumer, KafkaException, Producer


def produce(bootstrap, topic, first, count, extra):
    failures = []

    def report(err, msg):
        if err is not None:
            failures.append(err)

    conf = {'bootstrap.servers': bootstrap}
    for kv in extra:
        k, v = kv.split('=', 1)
        conf[k] = v
    p = Producer(conf)
    for n in range(first, first + count):
        p.produce(topic, key=f'key-{n}', value=str(n), headers=[('n', str(n))],
                  on_delivery=report)
        p.poll(0)
    left = p.flush(30)
    if left or failures:
        sys.exit(f"{left} undelivered, failures: {failures[:3]}")


def consume(bootstrap, topic, group, count):
    c = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': group,
        'enable.auto.commit': False,
        'auto.offset.reset': 'earliest',
    })
    c.subscribe([topic])
    seen = 0
    while seen < count:
        msg = c.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            raise KafkaException(msg.error())
        print(msg.value().decode('utf-8'), flush=True)
        c.commit(message=msg, asynchronous=False)
        seen += 1
    c.close()


if __name__ == '__main__':
    mode = sys.argv[1]
    if mode == 'produce':
        produce(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:])
    elif mode == 'consume':
        consume(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        sys.exit(f"unknown mode {mode}")
