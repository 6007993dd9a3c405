#!/usr/bin/env bash
# kafka-real.sh - a real Apache Kafka broker (KRaft, one combined
# broker+controller node) on loopback, for the kafka-real tests and benches.
#
#   kafka-real.sh fetch        download the pinned release's jars from Maven
#                              Central (once; cached in ~/.cache/newsdedup/)
#   kafka-real.sh start DIR    format storage under DIR, start the broker on free
#                              loopback ports, wait until it answers; prints the
#                              bootstrap address (also written to DIR/bootstrap)
#   kafka-real.sh stop DIR     stop it (TERM, then KILL after 20 s), remove DIR
#                              (kept when ND_KAFKA_KEEP=1)
#   kafka-real.sh status DIR   "running BOOTSTRAP" or "stopped" (exit 1)
#   kafka-real.sh topics DIR ARGS...
#                              kafka-topics (TopicCommand) against it, e.g.
#                              --create --topic T --partitions 1 --config k=v
#   kafka-real.sh batches DIR TOPIC [PARTITION]
#                              one line per record batch stored in the
#                              partition's log segments (DumpLogSegments):
#                              offsets, count, isTransactional, compresscodec
#
# Needs a JDK (java) and Maven (mvn); scripts/install-deps.sh installs them.
# Exit status 3 from fetch/start means java or mvn is missing, so callers can
# skip with a message.
set -euo pipefail

KAFKA_VERSION=3.7.1 # keep in step with scripts/kafka/pom.xml
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${ND_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/newsdedup/kafka-$KAFKA_VERSION}"
JARS="$CACHE/jars"

die() { echo "kafka-real: $*" >&2; exit 1; }

need_java() {
    if ! command -v java >/dev/null 2>&1; then
        echo "kafka-real: java not found (scripts/install-deps.sh installs it)" >&2
        exit 3
    fi
}

cmd_fetch() {
    # The cache is valid for the pom it was fetched with.
    local stamp
    stamp=$(cksum <"$HERE/kafka/pom.xml")
    [ -f "$CACHE/.complete" ] && [ "$(cat "$CACHE/.complete")" = "$stamp" ] && return 0
    need_java
    if ! command -v mvn >/dev/null 2>&1; then
        echo "kafka-real: mvn not found (scripts/install-deps.sh installs it)" >&2
        exit 3
    fi
    mkdir -p "$CACHE"
    local tmp="$CACHE/jars.tmp.$$"
    rm -rf "$tmp"
    echo "kafka-real: fetching Apache Kafka $KAFKA_VERSION from Maven Central" >&2
    if ! mvn -q -B -f "$HERE/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
        dependency:copy-dependencies -DoutputDirectory="$tmp" >"$CACHE/fetch.log" 2>&1; then
        cat "$CACHE/fetch.log" >&2
        rm -rf "$tmp"
        die "mvn dependency:copy-dependencies failed"
    fi
    [ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ] || die "the fetch did not bring kafka_2.13"
    rm -rf "$JARS"
    mv "$tmp" "$JARS"
    echo "$stamp" >"$CACHE/.complete"
}

# free_port: print a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    local p i
    for i in $(seq 1 200); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}

java_cp() {
    java -Xms128m -Xmx512m -XX:+UseSerialGC -Djava.awt.headless=true \
        -Dlog4j.configuration="file:$DIR/log4j.properties" -Dkafka.logs.dir="$DIR" \
        -cp "$JARS/*" "$@"
}

cmd_start() {
    DIR="${1:?usage: kafka-real.sh start DIR}"
    cmd_fetch
    need_java
    mkdir -p "$DIR"
    DIR="$(cd "$DIR" && pwd)"
    if [ -f "$DIR/pid" ] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null; then
        cat "$DIR/bootstrap"
        return 0
    fi
    local bport cport
    bport=$(free_port)
    cport=$(free_port)
    [ "$bport" != "$cport" ] || cport=$(free_port)
    cat >"$DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$bport
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DIR/data
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
# One broker: internal topics with one replica, few partitions (fast start).
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
# Small segments and an eager cleaner so compaction tests see results quickly.
log.segment.bytes=1048576
log.cleaner.backoff.ms=500
log.cleaner.dedupe.buffer.size=8388608
log.cleaner.threads=1
log.retention.check.interval.ms=5000
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
EOF
    cat >"$DIR/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$DIR/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
EOF
    if [ ! -f "$DIR/data/meta.properties" ]; then
        local uuid=-
        # a cluster id starting with '-' would be read as an option (1 run in
        # 64 failed so); Kafka's own Uuid.randomUuid() draws again in that case
        while [ "${uuid#-}" != "$uuid" ]; do
            uuid=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
        done
        java_cp kafka.tools.StorageTool format -t "$uuid" -c "$DIR/server.properties" \
            >"$DIR/format.log" 2>&1 || { cat "$DIR/format.log" >&2; die "storage format failed"; }
    fi
    # setsid: the broker gets its own session, so the caller's terminal
    # signals do not reach it; stop is what ends it.
    setsid bash -c 'exec "$@"' _ java -Xms256m -Xmx768m -XX:+UseSerialGC \
        -Djava.awt.headless=true -Dlog4j.configuration="file:$DIR/log4j.properties" \
        -Dkafka.logs.dir="$DIR" -cp "$JARS/*" kafka.Kafka "$DIR/server.properties" \
        >"$DIR/stdout.log" 2>&1 </dev/null &
    echo $! >"$DIR/pid"
    local bs="127.0.0.1:$bport" i
    for i in $(seq 1 240); do
        if ! kill -0 "$(cat "$DIR/pid")" 2>/dev/null; then
            tail -30 "$DIR/server.log" "$DIR/stdout.log" >&2 || true
            die "broker exited during start-up"
        fi
        if kcat -b "$bs" -L -m 1 2>/dev/null | grep -q "1 brokers"; then
            echo "$bs" >"$DIR/bootstrap"
            echo "$bs"
            return 0
        fi
        sleep 0.25
    done
    cmd_stop "$DIR"
    die "broker did not answer within 60 s"
}

cmd_stop() {
    DIR="${1:?usage: kafka-real.sh stop DIR}"
    [ -d "$DIR" ] || return 0
    if [ -f "$DIR/pid" ]; then
        local pid i
        pid=$(cat "$DIR/pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for i in $(seq 1 80); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.25
            done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$DIR/pid"
    fi
    if [ "${ND_KAFKA_KEEP:-0}" != 1 ]; then
        rm -rf "$DIR"
    fi
}

cmd_status() {
    DIR="${1:?usage: kafka-real.sh status DIR}"
    if [ -f "$DIR/pid" ] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null; then
        echo "running $(cat "$DIR/bootstrap" 2>/dev/null)"
        return 0
    fi
    echo "stopped"
    return 1
}

cmd_topics() {
    DIR="${1:?usage: kafka-real.sh topics DIR ARGS...}"
    shift
    java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Dlog4j.configuration="file:$DIR/log4j.properties" -cp "$JARS/*" \
        org.apache.kafka.tools.TopicCommand --bootstrap-server "$(cat "$DIR/bootstrap")" "$@"
}

cmd_batches() {
    DIR="${1:?usage: kafka-real.sh batches DIR TOPIC [PARTITION]}"
    local t="${2:?usage: kafka-real.sh batches DIR TOPIC [PARTITION]}" p="${3:-0}"
    local logs=("$DIR/data/$t-$p"/*.log)
    [ -e "${logs[0]}" ] || die "no log segments for $t-$p under $DIR/data"
    java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Dlog4j.configuration="file:$DIR/log4j.properties" -cp "$JARS/*" \
        kafka.tools.DumpLogSegments --files "$(IFS=,; echo "${logs[*]}")" | grep '^baseOffset:'
}

case "${1:-}" in
fetch) cmd_fetch ;;
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
status) shift; cmd_status "$@" ;;
topics) shift; cmd_topics "$@" ;;
batches) shift; cmd_batches "$@" ;;
*)
    sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
