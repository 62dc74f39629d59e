// Produce and consume over SASL_SSL with SCRAM.
// usage: node secure.js BOOTSTRAP CAFILE MECHANISM USER PASSWORD TOPIC
// MECHANISM is scram-sha-256 or scram-sha-512. Prints "consumed VALUE", or
// "auth-failed: ..." and exits 3 when the login is refused.
const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

const [bootstrap, cafile, mechanism, username, password, topic] = process.argv.slice(2)
const value = 'secure-' + Date.now() + '-' + Math.random().toString(36).slice(2)
const kafka = new Kafka({
  clientId: 'eddy-secure-test',
  brokers: [bootstrap],
  ssl: { ca: [fs.readFileSync(cafile, 'utf-8')] },
  sasl: { mechanism, username, password },
  logLevel: logLevel.NOTHING,
  retry: { retries: 2 },
})

async function main () {
  const producer = kafka.producer({ allowAutoTopicCreation: true })
  try {
    await producer.connect()
  } catch (e) {
    console.log('auth-failed:', e.type || e.name, e.message)
    process.exit(3)
  }
  await producer.send({ topic, messages: [{ value }] })
  await producer.disconnect()
  const consumer = kafka.consumer({ groupId: 'secure-' + value })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out consuming')), 30000)
    consumer.run({
      eachMessage: async ({ message }) => {
        if (message.value.toString() === value) {
          clearTimeout(timer)
          resolve()
        }
      },
    })
  })
  console.log('consumed', value)
  await consumer.disconnect()
}

main().catch((e) => { console.error(e); process.exit(1) })
