"""confluent-kafka (librdkafka) producer of one conditional event-store record,
and a transactional producer, for the faithfulness tests.

usage:
  confluent_streams.py produce BOOTSTRAP TOPIC KEY EXPECTED [KEY=VALUE...]
      produce one record keyed KEY with the header eddy-expected-version:
      EXPECTED, with librdkafka's default settings plus the extra ones
      (partitioner=murmur2_random ...); print a JSON line
      {"partition": P, "offset": O} or {"error": NAME, "message": TEXT,
      "retriable": BOOL, "fatal": BOOL}
  confluent_streams.py transactions BOOTSTRAP
      init_transactions() with a transactional.id; print a JSON line
      {"error": NAME, "message": TEXT, "fatal": BOOL, "seconds": S}
"""
import json
import sys
import time

from confluent_kafka import KafkaException, Producer


def produce(bootstrap, topic, key, expected, extra):
    conf = {'bootstrap.servers': bootstrap, 'message.timeout.ms': 20000}
    for kv in extra:
        k, v = kv.split('=', 1)
        conf[k] = v
    out = {}

    def report(err, msg):
        if err is not None:
            out.update(error=err.name(), message=err.str(), retriable=err.retriable(), fatal=err.fatal())
        else:
            out.update(partition=msg.partition(), offset=msg.offset())

    p = Producer(conf)
    p.produce(topic, key=key, value=b'{}', headers=[('eddy-expected-version', expected)], on_delivery=report)
    p.flush(30)
    print(json.dumps(out))


def transactions(bootstrap):
    p = Producer({'bootstrap.servers': bootstrap, 'transactional.id': 'tx-1'})
    start = time.time()
    try:
        p.init_transactions(30)
        print(json.dumps({"error": None}))
    except KafkaException as e:
        err = e.args[0]
        print(json.dumps({"error": err.name(), "message": err.str(), "fatal": err.fatal(),
                          "seconds": time.time() - start}))


if __name__ == '__main__':
    if sys.argv[1] == 'produce':
        produce(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:])
    elif sys.argv[1] == 'transactions':
        transactions(sys.argv[2])
    else:
        sys.exit(f"unknown mode {sys.argv[1]}")
