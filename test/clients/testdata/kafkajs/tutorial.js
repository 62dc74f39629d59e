// The tutorial's kafkajs sample (Part 2, "TypeScript (Node.js)"), as plain
// JavaScript: the same classes and calls, without the type annotations. The
// broker address comes from argv instead of localhost:9092.
//
// usage: node tutorial.js produce BROKER COUNT   (orders 0..COUNT-1)
//        node tutorial.js consume BROKER COUNT   (group order-processor,
//                                                 exits after COUNT orders)
const { Kafka } = require('kafkajs');
const [mode, broker, countArg] = process.argv.slice(2);
const count = Number(countArg);

const kafka = new Kafka({
  clientId: 'order-service',
  brokers: [broker]
});

// Producer
class OrderEventProducer {
  producer = kafka.producer();

  async connect() {
    await this.producer.connect();
  }

  async produceOrderCreated(orderCreated) {
    await this.producer.send({
      topic: 'order-events',
      messages: [{
        key: orderCreated.orderId.toString(),
        value: JSON.stringify(orderCreated)
      }]
    });
    console.log(`Produced order created event: ${orderCreated.orderId}`);
  }
}

// Consumer
class OrderEventConsumer {
  consumer = kafka.consumer({ groupId: 'order-processor' });

  async connect() {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: 'order-events', fromBeginning: true });
  }

  async startConsuming(onOrder) {
    await this.consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const orderCreated = JSON.parse(message.value?.toString() || '{}');
        await this.processOrder(orderCreated);
        onOrder();
      }
    });
  }

  async processOrder(orderCreated) {
    console.log(`Processing order: ${orderCreated.orderId}`);
  }
}

async function main() {
  if (mode === 'produce') {
    const p = new OrderEventProducer();
    await p.connect();
    for (let i = 0; i < count; i++) {
      await p.produceOrderCreated({ orderId: i, total: i * 10 });
    }
    await p.producer.disconnect();
  } else if (mode === 'consume') {
    const c = new OrderEventConsumer();
    await c.connect();
    let seen = 0;
    await new Promise((resolve) => {
      c.startConsuming(() => { if (++seen === count) resolve(); });
    });
    await c.consumer.disconnect();
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
