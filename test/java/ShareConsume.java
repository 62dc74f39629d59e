// ShareConsume is a KafkaShareConsumer (Apache Kafka's Java client, KIP-932)
// used by Eddy's optional Java test (test/queues/java_share_test.go).
//
// Usage: java -cp kafka-clients.jar:... ShareConsume BOOTSTRAP GROUP TOPIC TIMEOUT_MS
//
// It subscribes GROUP to TOPIC in explicit acknowledgement mode
// (share.acknowledgement.mode=explicit; clients that predate that config
// infer the mode from the acknowledge calls), acknowledges every record it
// receives — ACCEPT; REJECT when the value is "poison"; RELEASE when the
// value is "retry" and this is its first delivery — and commits each poll's
// acknowledgements with commitSync. Output, one line each, for the test to
// check:
//
//   READY                                       after subscribing
//   ACK <accept|reject|release> <partition> <offset> <deliveryCount> <value>
//                                               an acknowledgement commitSync confirmed
//   ACKERR <partition> <offset> <error>         an acknowledgement commitSync refused
//   DONE <records>                              after close
//
// It stops when standard input closes (the test closes it once every record
// is confirmed) or after TIMEOUT_MS, then closes the consumer.
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;

public class ShareConsume {
    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: ShareConsume BOOTSTRAP GROUP TOPIC TIMEOUT_MS");
            System.exit(2);
        }
        Properties props = new Properties();
        props.put("bootstrap.servers", args[0]);
        props.put("group.id", args[1]);
        props.put("share.acknowledgement.mode", "explicit");
        props.put("key.deserializer", StringDeserializer.class.getName());
        props.put("value.deserializer", StringDeserializer.class.getName());
        String topic = args[2];
        long deadline = System.currentTimeMillis() + Long.parseLong(args[3]);

        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<KafkaShareConsumer<String, String>> stopper = new AtomicReference<>();
        Thread stdin = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // drain until the test closes standard input
                }
            } catch (IOException e) {
                // treated as closed
            }
            stop.set(true);
            KafkaShareConsumer<String, String> c = stopper.get();
            if (c != null) {
                c.wakeup(); // ends a waiting poll
            }
        });
        stdin.setDaemon(true);
        stdin.start();

        long total = 0;
        try (KafkaShareConsumer<String, String> consumer = new KafkaShareConsumer<>(props)) {
            consumer.subscribe(List.of(topic));
            stopper.set(consumer);
            if (stop.get()) {
                consumer.wakeup();
            }
            System.out.println("READY");
            System.out.flush();
            // Clients without share.acknowledgement.mode infer the mode: a
            // second poll before any acknowledge call means implicit. So
            // their first poll waits for records (or for the stop).
            boolean first = !ConsumerConfig.configNames().contains("share.acknowledgement.mode");
            while (!stop.get() && System.currentTimeMillis() < deadline) {
                ConsumerRecords<String, String> records;
                try {
                    records = consumer.poll(Duration.ofMillis(first ? Math.max(1, deadline - System.currentTimeMillis()) : 200));
                } catch (WakeupException e) {
                    break;
                }
                if (records.isEmpty()) {
                    continue;
                }
                first = false;
                Map<Integer, List<String>> lines = new HashMap<>();
                Map<Integer, List<Long>> offsets = new HashMap<>();
                for (ConsumerRecord<String, String> r : records) {
                    short delivery = r.deliveryCount().orElse((short) -1);
                    AcknowledgeType type = AcknowledgeType.ACCEPT;
                    if ("poison".equals(r.value())) {
                        type = AcknowledgeType.REJECT;
                    } else if ("retry".equals(r.value()) && delivery == 1) {
                        type = AcknowledgeType.RELEASE;
                    }
                    consumer.acknowledge(r, type);
                    lines.computeIfAbsent(r.partition(), p -> new ArrayList<>()).add(String.format("ACK %s %d %d %d %s",
                        type.toString().toLowerCase(java.util.Locale.ROOT), r.partition(), r.offset(), delivery, r.value()));
                    offsets.computeIfAbsent(r.partition(), p -> new ArrayList<>()).add(r.offset());
                    total++;
                }
                Map<TopicIdPartition, Optional<KafkaException>> result = consumer.commitSync();
                for (Map.Entry<TopicIdPartition, Optional<KafkaException>> e : result.entrySet()) {
                    int p = e.getKey().partition();
                    if (e.getValue().isPresent()) {
                        for (long off : offsets.getOrDefault(p, List.of())) {
                            System.out.printf("ACKERR %d %d %s%n", p, off, e.getValue().get().toString().replace('\n', ' '));
                        }
                    } else {
                        lines.getOrDefault(p, List.of()).forEach(System.out::println);
                    }
                    lines.remove(p);
                }
                // Partitions commitSync said nothing about: not confirmed.
                for (Map.Entry<Integer, List<String>> e : lines.entrySet()) {
                    for (long off : offsets.get(e.getKey())) {
                        System.out.printf("ACKERR %d %d no commit result%n", e.getKey(), off);
                    }
                }
                System.out.flush();
            }
        }
        System.out.println("DONE " + total);
        System.out.flush();
    }
}
