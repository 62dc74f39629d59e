"""The tutorial's kafka-python group consumer (Part 2), unchanged except
that the bootstrap address comes from argv[1] and start_consuming stops
after argv[2] messages so the test ends; closing the consumer commits its
offsets (kafka-python auto-commits by default).

usage: tutorial_consumer.py BOOTSTRAP COUNT
"""
import json
import sys

from kafka import KafkaConsumer

BOOTSTRAP = sys.argv[1]
COUNT = int(sys.argv[2])


# Consumer
class OrderEventConsumer:
    def __init__(self):
        self.consumer = KafkaConsumer(
            'order-events',
            bootstrap_servers=[BOOTSTRAP],
            group_id='order-processor',
            value_deserializer=lambda m: json.loads(m.decode('utf-8')),
            auto_offset_reset='earliest'
        )

    def start_consuming(self):
        seen = 0
        for message in self.consumer:
            order_created = message.value
            self.process_order(order_created)
            seen += 1
            if seen == COUNT:
                break

    def process_order(self, order_created):
        print(f"Processing order: {order_created['order_id']}", flush=True)


if __name__ == '__main__':
    consumer = OrderEventConsumer()
    consumer.start_consuming()
    consumer.consumer.close()
