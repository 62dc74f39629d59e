// Reads a topic (or an Eddy view) in a kafkajs consumer group from the
// beginning and prints each record as PARTITION OFFSET KEY VALUE HEADERS
// (headers as k=v joined by commas); exits after COUNT records, committing
// what it printed.
//
// usage: node view.js BROKER TOPIC GROUP COUNT [LINGER]
// (LINGER: seconds to keep consuming after COUNT records, default 0)
const { Kafka, logLevel } = require('kafkajs');
const [broker, topic, group, countArg, lingerArg] = process.argv.slice(2);
const count = Number(countArg);
const linger = Number(lingerArg || 0);

async function main() {
  const kafka = new Kafka({ clientId: 'view-test', brokers: [broker], logLevel: logLevel.ERROR });
  const consumer = kafka.consumer({ groupId: group });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${seen} of ${count} records`)), 60000);
    consumer.run({
      autoCommit: true,
      eachMessage: async ({ partition, message }) => {
        if (seen >= count) throw new Error('a record beyond COUNT');
        const hdrs = Object.entries(message.headers || {}).map(([k, v]) => `${k}=${v.toString()}`).join(',');
        console.log(`${partition} ${message.offset} ${message.key ? message.key.toString() : ''} ${message.value ? message.value.toString() : ''} ${hdrs}`);
        if (++seen === count) { clearTimeout(timer); resolve(); }
      }
    }).catch(reject);
  });
  await new Promise((resolve) => setTimeout(resolve, linger * 1000));
  await consumer.disconnect();
}

main().catch((e) => { console.error(e); process.exit(1); });
