"""Two consumers of one group in one process, polled in turn, each
committing synchronously what it read. Prints one JSON object:
{"values": [...], "assignments": [[partitions of member 0], [... 1]]}
once COUNT values were read in total.

usage: two_members.py kafka-python|confluent BOOTSTRAP TOPIC GROUP COUNT
"""
import json
import sys

lib, bootstrap, topic, group, count = sys.argv[1:6]
count = int(count)
values = []
assignments = [set(), set()]

if lib == 'kafka-python':
    # kafka-python joins and rebalances inside poll(), so each member needs
    # its own thread: polled in turn from one thread, a joining member
    # would wait forever for the other to rejoin.
    import threading

    from kafka import KafkaConsumer

    lock = threading.Lock()
    done = threading.Barrier(2)

    def member(i):
        c = KafkaConsumer(topic, bootstrap_servers=[bootstrap], group_id=group,
                          client_id=f'member-{i}', auto_offset_reset='earliest',
                          enable_auto_commit=False)
        while True:
            with lock:
                if len(values) >= count:
                    break
            batch = c.poll(timeout_ms=200)
            with lock:
                for tp, msgs in batch.items():
                    values.extend(m.value.decode('utf-8') for m in msgs)
            if batch:
                c.commit()
        assignments[i] = {tp.partition for tp in c.assignment()}
        done.wait(timeout=60)
        c.close()

    threads = [threading.Thread(target=member, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
elif lib == 'confluent':
    from confluent_kafka import Consumer, KafkaException

    members = [Consumer({'bootstrap.servers': bootstrap, 'group.id': group,
                         'client.id': f'member-{i}', 'auto.offset.reset': 'earliest',
                         'enable.auto.commit': False})
               for i in range(2)]
    for c in members:
        c.subscribe([topic])
    while len(values) < count:
        for i, c in enumerate(members):
            m = c.poll(0.2)
            if m is not None:
                if m.error():
                    raise KafkaException(m.error())
                values.append(m.value().decode('utf-8'))
                c.commit(message=m, asynchronous=False)
            assignments[i] = {tp.partition for tp in c.assignment()}
    for c in members:
        c.close()
else:
    sys.exit(f"unknown client library {lib}")

print(json.dumps({'values': values, 'assignments': [sorted(a) for a in assignments]}))
