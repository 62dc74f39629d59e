#!/usr/bin/env bash
# build-kafka-clients.sh — build Apache Kafka's kafka-clients jar from a Kafka
# source checkout with javac alone (no Gradle, no Maven repository), against
# the jars Debian ships, so the optional Java share-consumer test
# (test/queues/java_share_test.go) can run where only Debian packages can be
# installed.
#
# Usage:
#   test/java/build-kafka-clients.sh KAFKA_SRC_DIR OUT_JAR [OTEL_PROTO_DIR]
#
#   KAFKA_SRC_DIR   a checkout (or `git archive`) of apache/kafka holding at
#                   least clients/ and generator/
#   OUT_JAR         the jar to write, e.g. /tmp/kafka-clients.jar
#                   (kafka/kafka-version.properties records the commit: git
#                   rev-parse in KAFKA_SRC_DIR, else $KAFKA_COMMIT)
#   OTEL_PROTO_DIR  a checkout of open-telemetry/opentelemetry-proto (the
#                   v1.0.0 tag is what Kafka's opentelemetry-proto artifact is
#                   built from); kafka-clients' telemetry reporter compiles
#                   against the classes protoc generates from it. Defaults to
#                   $OTEL_PROTO_DIR.
#
# Needs: a JDK (javac, java, jar; 17 works) and the Debian packages
#   libjackson2-databind-java libjackson2-core-java libjackson2-annotations-java
#   libargparse4j-java libslf4j-java liblz4-java libsnappy-java
#   libzstd-jni-java protobuf-compiler libprotobuf-java
# (jars are looked up in $JAVA_LIBS, default /usr/share/java).
#
# What it does, as Kafka's build.gradle does it:
#   1. compiles the generator module (Kafka's MessageGenerator) against
#      Debian's jackson and argparse4j; jackson's jdk8 datatype module is not
#      packaged and the generator only registers it, so an empty stand-in
#      module is compiled beside it;
#   2. runs MessageGenerator with the arguments of the clients project's
#      processMessages task on clients/src/main/resources/common/message;
#   3. generates the OpenTelemetry metrics classes with protoc;
#   4. compiles clients/src/main/java plus the generated sources against
#      slf4j-api, lz4, snappy, zstd-jni, protobuf and jackson, and jars the
#      classes with clients/src/main/resources.
# The OAuth bearer JWT validation classes need jose4j, which Debian does not
# package; they (and whatever refers to them) are left out of the jar. They
# serve SASL/OAUTHBEARER token validation only.
#
# The script is idempotent: it rebuilds from scratch in a work directory
# (default: OUT_JAR's directory/kafka-clients-build, or $WORK_DIR) and
# replaces OUT_JAR.
set -euo pipefail

if [[ $# -lt 2 ]]; then
	sed -n '2,20p' "$0" >&2
	exit 2
fi
src=$(cd "$1" && pwd)
out=$2
otel=${3:-${OTEL_PROTO_DIR:-}}
libs=${JAVA_LIBS:-/usr/share/java}
out_dir=$(mkdir -p "$(dirname "$out")" && cd "$(dirname "$out")" && pwd)
out="$out_dir/$(basename "$out")"
work=${WORK_DIR:-$out_dir/kafka-clients-build}

die() { echo "build-kafka-clients: $*" >&2; exit 1; }
need_jar() {
	local j="$libs/$1.jar"
	[[ -f $j ]] || die "missing $j (apt-get install -y $2)"
	printf '%s' "$j"
}
for t in javac java jar protoc; do
	command -v "$t" >/dev/null || die "$t not on PATH (a JDK and protobuf-compiler are needed)"
done
[[ -d $src/clients/src/main/java && -d $src/generator/src/main/java ]] ||
	die "$src has no clients/ and generator/ (pass an apache/kafka source checkout)"
[[ -n $otel && -f $otel/opentelemetry/proto/metrics/v1/metrics.proto ]] ||
	die "OTEL_PROTO_DIR must be an opentelemetry-proto checkout (got '${otel}')"

jackson="$(need_jar jackson-databind libjackson2-databind-java):$(need_jar jackson-core libjackson2-core-java):$(need_jar jackson-annotations libjackson2-annotations-java)"
argparse=$(need_jar argparse4j libargparse4j-java)
runtime="$(need_jar slf4j-api libslf4j-java):$(need_jar lz4-java liblz4-java):$(need_jar snappy-java libsnappy-java):$(need_jar zstd-jni libzstd-jni-java):$(need_jar protobuf libprotobuf-java)"

rm -rf "$work"
mkdir -p "$work"/{shim,generator-classes,gen-java,classes}
version=$(sed -n 's/^version=//p' "$src/gradle.properties" 2>/dev/null || true)
echo "build-kafka-clients: Kafka ${version:-unknown version} from $src"

# 1. The generator, with an empty stand-in for jackson-datatype-jdk8 (the
# message specs' creators take plain types; Optional is only used in getters).
mkdir -p "$work/shim/com/fasterxml/jackson/datatype/jdk8"
cat >"$work/shim/com/fasterxml/jackson/datatype/jdk8/Jdk8Module.java" <<'EOF'
package com.fasterxml.jackson.datatype.jdk8;

/** Stand-in for jackson-datatype-jdk8, which Debian does not package. */
public class Jdk8Module extends com.fasterxml.jackson.databind.module.SimpleModule {
    private static final long serialVersionUID = 1L;

    public Jdk8Module() {
        super("Jdk8ModuleStandIn");
    }
}
EOF
find "$src/generator/src/main/java" "$work/shim" -name '*.java' >"$work/generator-sources.txt"
javac -nowarn -encoding UTF-8 -d "$work/generator-classes" -cp "$jackson:$argparse" @"$work/generator-sources.txt"

# 2. Message classes: the arguments of clients' processMessages task.
gen_out="$work/gen-java/org/apache/kafka/common/message"
java -cp "$work/generator-classes:$jackson:$argparse" org.apache.kafka.message.MessageGenerator \
	-p org.apache.kafka.common.message \
	-o "$gen_out" \
	-i "$src/clients/src/main/resources/common/message" \
	-t ApiMessageTypeGenerator \
	-m MessageDataGenerator JsonConverterGenerator

# 3. OpenTelemetry metrics protos.
protoc --java_out="$work/gen-java" -I "$otel" \
	"$otel/opentelemetry/proto/common/v1/common.proto" \
	"$otel/opentelemetry/proto/resource/v1/resource.proto" \
	"$otel/opentelemetry/proto/metrics/v1/metrics.proto"

# 4. kafka-clients. Files that need jose4j are left out, then (until javac
# stops naming them) the files that refer to a left-out class.
find "$src/clients/src/main/java" "$work/gen-java" -name '*.java' | sort >"$work/all-sources.txt"
grep -l 'org\.jose4j' $(cat "$work/all-sources.txt") | sort >"$work/excluded.txt" || true
while :; do
	names=$(sed 's#.*/##; s#\.java$##' "$work/excluded.txt" | paste -sd'|')
	[[ -n $names ]] || break
	more=$(grep -lE "\b($names)\b" $(comm -23 "$work/all-sources.txt" "$work/excluded.txt") || true)
	[[ -n $more ]] || break
	{ cat "$work/excluded.txt"; printf '%s\n' $more; } | sort -u >"$work/excluded.next"
	mv "$work/excluded.next" "$work/excluded.txt"
done
comm -23 "$work/all-sources.txt" "$work/excluded.txt" >"$work/sources.txt"
echo "build-kafka-clients: compiling $(wc -l <"$work/sources.txt") sources ($(wc -l <"$work/excluded.txt") left out: they need jose4j)"
javac -nowarn -encoding UTF-8 -J-Xmx1g -d "$work/classes" -cp "$runtime:$jackson" @"$work/sources.txt" 2>"$work/javac.log" || {
	cat "$work/javac.log" >&2
	die "javac failed"
}
cp -r "$src/clients/src/main/resources/." "$work/classes/"
rm -rf "$work/classes/common" # the message specs are build inputs, not resources
mkdir -p "$work/classes/kafka"
commit=${KAFKA_COMMIT:-unknown}
[[ -e $src/.git ]] && commit=$(git -C "$src" rev-parse HEAD)
printf 'version=%s\ncommitId=%s\n' "${version:-unknown}" "$commit" >"$work/classes/kafka/kafka-version.properties"
printf 'Manifest-Version: 1.0\nImplementation-Title: kafka-clients\nImplementation-Version: %s\n' "${version:-unknown}" >"$work/manifest.txt"
rm -f "$out"
jar --create --file "$out" --manifest "$work/manifest.txt" -C "$work/classes" .
echo "build-kafka-clients: wrote $out"
