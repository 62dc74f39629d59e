"""The tutorial's kafka-python consumer (Python - Using Apache Kafka),
joining the e-commerce system as one more service on its `orders` topic.

Changed from the tutorial only where the system differs: the topic is
`orders` (the order streams), the group is `order-processor-python`, the
order id field is `orderId` (the system's JSON), the bootstrap address comes
from EDDY_BROKERS (default localhost:9092), and the print is flushed so a
pipe sees each line at once. Every event of an order's stream arrives here
(OrderCreated, OrderPaid, OrderCancelled, as CloudEvents headers say); the
tutorial's consumer treats each as an order to process, and so does this.

usage: python3 order_processor.py   (stop it with Ctrl-C)
"""
import json
import os

from kafka import KafkaConsumer

BOOTSTRAP = os.environ.get('EDDY_BROKERS', 'localhost:9092')


# Consumer
class OrderEventConsumer:
    def __init__(self):
        self.consumer = KafkaConsumer(
            'orders',
            bootstrap_servers=[BOOTSTRAP],
            group_id='order-processor-python',
            value_deserializer=lambda m: json.loads(m.decode('utf-8')),
            auto_offset_reset='earliest'
        )

    def start_consuming(self):
        for message in self.consumer:
            order_created = message.value
            self.process_order(order_created)

    def process_order(self, order_created):
        print(f"Processing order: {order_created['orderId']}", flush=True)


if __name__ == '__main__':
    try:
        OrderEventConsumer().start_consuming()
    except KeyboardInterrupt:
        pass
