// The tutorial's kafkajs consumer (TypeScript (Node.js) - Using Apache
// Kafka), joining the e-commerce system as one more service on its `orders`
// topic.
//
// Changed from the tutorial only where the system differs: the topic is
// `orders` (the order streams), the group is `order-processor-node`, and the
// brokers come from EDDY_BROKERS (default localhost:9092). Every event of an
// order's stream arrives here (OrderCreated, OrderPaid, OrderCancelled); the
// tutorial's consumer treats each as an order to process, and so does this.
//
// Build and run: npm ci && npx tsc && node dist/order_processor.js
import { Kafka, logLevel } from 'kafkajs';

interface OrderCreatedEvent {
  orderId: string;
  customerId: string;
  total: number;
}

const kafka = new Kafka({
  clientId: 'order-service',
  brokers: (process.env.EDDY_BROKERS || 'localhost:9092').split(','),
  logLevel: logLevel.WARN,
});

// Consumer
class OrderEventConsumer {
  private consumer = kafka.consumer({ groupId: 'order-processor-node' });

  async connect() {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: 'orders', fromBeginning: true });
  }

  async startConsuming() {
    await this.consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const orderCreated: OrderCreatedEvent = JSON.parse(message.value?.toString() || '{}');
        await this.processOrder(orderCreated);
      }
    });
  }

  async disconnect() {
    await this.consumer.disconnect();
  }

  private async processOrder(orderCreated: OrderCreatedEvent) {
    console.log(`Processing order: ${orderCreated.orderId}`);
  }
}

async function main() {
  const consumer = new OrderEventConsumer();
  await consumer.connect();
  await consumer.startConsuming();
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, async () => {
      await consumer.disconnect();
      process.exit(0);
    });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
