"""kafka-python producer with keys, headers, a compression codec and an acks
setting: produces values FIRST..FIRST+COUNT-1 keyed key-<n> with header
n=<n>, checks every send's result, and exits 1 on any failure.

usage: kafka_python_producer.py BOOTSTRAP TOPIC FIRST COUNT COMPRESSION ACKS
  COMPRESSION: none or gzip (the other codecs need modules Debian's
  python3-kafka does not pull in); ACKS: 0, 1 or all
"""
import sys

from kafka import KafkaProducer

bootstrap, topic = sys.argv[1], sys.argv[2]
first, count = int(sys.argv[3]), int(sys.argv[4])
compression = None if sys.argv[5] == 'none' else sys.argv[5]
acks = sys.argv[6] if sys.argv[6] == 'all' else int(sys.argv[6])

producer = KafkaProducer(bootstrap_servers=[bootstrap], compression_type=compression, acks=acks)
futures = []
for n in range(first, first + count):
    futures.append(producer.send(topic, key=f'key-{n}'.encode(), value=str(n).encode(),
                                 headers=[('n', str(n).encode())]))
producer.flush()
for f in futures:
    f.get(timeout=30)
producer.close()
