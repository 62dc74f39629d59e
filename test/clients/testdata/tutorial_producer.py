"""The tutorial's kafka-python producer (Part 2, "Python - Using Apache
Kafka"), unchanged except that the bootstrap address comes from argv[1];
the main block produces argv[2] orders through it.

usage: tutorial_producer.py BOOTSTRAP COUNT
"""
import json
import sys

from kafka import KafkaProducer

BOOTSTRAP = sys.argv[1]


# Producer
class OrderEventProducer:
    def __init__(self):
        self.producer = KafkaProducer(
            bootstrap_servers=[BOOTSTRAP],
            value_serializer=lambda v: json.dumps(v).encode('utf-8')
        )

    def produce_order_created(self, order_created):
        self.producer.send('order-events', value=order_created)
        self.producer.flush()
        print(f"Produced order created event: {order_created['order_id']}")


if __name__ == '__main__':
    producer = OrderEventProducer()
    for i in range(int(sys.argv[2])):
        producer.produce_order_created({'order_id': i, 'total': i * 10})
    producer.producer.close()
