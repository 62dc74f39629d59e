// A kafkajs producer (default settings, as the tutorial's) sending one
// record with an eddy-expected-version header, for the faithfulness tests.
// It counts the Produce requests kafkajs sends (instrumentation events) and
// prints one JSON line: {"produceRequests": N, "ok": BOOL, "name": ...,
// "type": ..., "retriable": ..., "message": ...}.
//
// usage: node stale_version.js BROKER TOPIC KEY EXPECTED
const { Kafka, logLevel } = require('kafkajs');
const [broker, topic, key, expected] = process.argv.slice(2);

const kafka = new Kafka({ clientId: 'stale-version', brokers: [broker], logLevel: logLevel.NOTHING });

async function main() {
  const producer = kafka.producer();
  let produceRequests = 0;
  producer.on(producer.events.REQUEST, (e) => {
    if (e.payload.apiName === 'Produce') produceRequests++;
  });
  await producer.connect();
  const out = { ok: false };
  try {
    await producer.send({
      topic,
      messages: [{ key, value: '{}', headers: { 'eddy-expected-version': expected } }],
    });
    out.ok = true;
  } catch (e) {
    // kafkajs wraps the broker's error when it gives up after retries.
    const cause = e.originalError || e;
    Object.assign(out, { name: e.name, type: cause.type, retriable: cause.retriable, message: cause.message,
      retries: e.retryCount });
  }
  out.produceRequests = produceRequests;
  await producer.disconnect();
  console.log(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
