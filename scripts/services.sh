#!/usr/bin/env bash
# Runs the real services freshet's integration tests talk to, all on 127.0.0.1:
#   kafka     127.0.0.1:9092  Apache Kafka 3.9 (KRaft, single node), jars from Maven Central
#   s3        127.0.0.1:9000  S3Proxy 4.x over the local file system, jars from Maven Central
#   redis     127.0.0.1:6379  the machine's Redis (started only if not running)
#   postgres  127.0.0.1:5432  the machine's PostgreSQL (started only if not running)
#
# Usage: scripts/services.sh up|down|status
# State (jars, data, pids, logs) lives in .services/ at the repo root.
# See docs/SERVICES.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPLATES="$ROOT/scripts/services"
STATE="${FRESHET_SERVICES_DIR:-$ROOT/.services}"

KAFKA_HOST=127.0.0.1
KAFKA_PORT=9092
S3_HOST=127.0.0.1
S3_PORT=9000
S3_BUCKET=freshet
S3_ACCESS_KEY=freshet
S3_SECRET_KEY=freshet-secret
S3_REGION=us-east-1
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
PG_HOST=127.0.0.1
PG_PORT=5432

KAFKA_DIR="$STATE/kafka"
KAFKA_LIB="$KAFKA_DIR/lib"
KAFKA_LOG="$KAFKA_DIR/kafka.log"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_START_TIMEOUT_S="${KAFKA_START_TIMEOUT_S:-90}"
S3_DIR="$STATE/s3proxy"
S3_LIB="$S3_DIR/lib"
S3_LOG="$S3_DIR/s3proxy.log"
S3_PID="$S3_DIR/s3proxy.pid"
# The jar stamp (pom checksum) of the running S3Proxy, written when `up` starts it.
S3_RUNNING="$S3_DIR/s3proxy.running"
S3_START_TIMEOUT_S="${S3_START_TIMEOUT_S:-60}"
STOP_TIMEOUT_S="${STOP_TIMEOUT_S:-30}"
# Present only when this script (not the machine) started the service, so
# `down` never stops a Redis or PostgreSQL that others rely on.
REDIS_MARKER="$STATE/redis.started-by-services"
PG_MARKER="$STATE/postgres.started-by-services"

say() { printf 'services: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

# ---------------------------------------------------------------- tools ----

ensure_tools() {
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  if ((${#missing[@]} > 0)); then
    command -v apt-get >/dev/null 2>&1 || die "Cannot install ${missing[*]} as apt-get is missing: install them by hand"
    say "installing ${missing[*]} with apt-get"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
      die "Cannot install ${missing[*]} with apt-get"
    fi
  fi
}

# Copies the runtime classpath of a pom into lib_dir once; a stamp holding the
# pom's checksum makes later runs skip Maven entirely until the pom changes.
fetch_jars() {
  local name="$1" pom="$2" lib_dir="$3"
  local stamp="$lib_dir/.fetched" sum
  sum="$(sha256sum "$pom" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$sum" ]]; then
    return 0
  fi
  say "$name: fetching jars from Maven Central with $(basename "$pom")"
  local tmp="$lib_dir.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  if ! mvn -q -B -f "$pom" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >"$STATE/mvn-$name.log" 2>&1; then
    die "$name: Maven could not fetch the jars: read $STATE/mvn-$name.log"
  fi
  rm -rf "$lib_dir"
  mv "$tmp" "$lib_dir"
  echo "$sum" >"$stamp"
}

render() {
  local template="$1" out="$2"
  shift 2
  local text
  text="$(cat "$template")"
  while (($# > 0)); do
    text="${text//"$1"/"$2"}"
    shift 2
  done
  printf '%s\n' "$text" >"$out"
}

# ------------------------------------------------------------ processes ----

port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# A pid file counts only if its process is alive and still runs our main class,
# so a stale pid reused by another program is never signalled.
pid_of() {
  local pid_file="$1" main_class="$2" pid
  [[ -f "$pid_file" ]] || return 1
  pid="$(cat "$pid_file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$main_class" || return 1
  echo "$pid"
}

# Starts a JVM in its own session so it outlives this script and the shell
# that ran it; the child writes its own pid before exec'ing java. It must not
# inherit the lock on fd 9, or the lock would live as long as the JVM.
start_java() {
  local pid_file="$1" log_file="$2"
  shift 2
  {
    printf '\n===== %s: starting =====\n' "$(date -u +%FT%TZ)"
  } >>"$log_file"
  # shellcheck disable=SC2016 # $$ and $@ belong to the child shell.
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pid_file" "$@" \
    </dev/null >>"$log_file" 2>&1 9>&- &
  local waited=0
  while [[ ! -s "$pid_file" ]] && ((waited < 50)); do
    sleep 0.1
    waited=$((waited + 1))
  done
}

stop_pid() {
  local name="$1" pid_file="$2" main_class="$3" pid
  if ! pid="$(pid_of "$pid_file" "$main_class")"; then
    rm -f "$pid_file"
    say "$name: not running"
    return 0
  fi
  say "$name: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT_S))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name: still running after ${STOP_TIMEOUT_S}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$pid_file"
}

# ---------------------------------------------------------------- kafka ----

kafka_java() {
  java -Xmx256m -Dlog4j.configuration="file:$TEMPLATES/tools-log4j.properties" \
    -cp "$KAFKA_LIB/*" "$@"
}

kafka_healthy() {
  port_open "$KAFKA_HOST" "$KAFKA_PORT" || return 1
  # Before this checkout's first `up` there are no tools to ask with; an open
  # broker port is the best `status` can tell. `up` fetches the jars first.
  [[ -f "$KAFKA_LIB/.fetched" ]] || return 0
  timeout 30 java -Xmx256m -Dlog4j.configuration="file:$TEMPLATES/tools-log4j.properties" \
    -cp "$KAFKA_LIB/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$KAFKA_HOST:$KAFKA_PORT" --list >/dev/null 2>&1
}

kafka_prepare() {
  mkdir -p "$KAFKA_DIR/data"
  render "$TEMPLATES/kafka-server.properties" "$KAFKA_DIR/server.properties" \
    @KAFKA_DATA_DIR@ "$KAFKA_DIR/data"
  # The cluster id is drawn once and kept, so the formatted log dir stays valid.
  if [[ ! -s "$KAFKA_DIR/cluster.id" ]]; then
    kafka_java kafka.tools.StorageTool random-uuid >"$KAFKA_DIR/cluster.id.tmp"
    mv "$KAFKA_DIR/cluster.id.tmp" "$KAFKA_DIR/cluster.id"
  fi
  if [[ ! -f "$KAFKA_DIR/data/meta.properties" ]]; then
    say "kafka: formatting storage in $KAFKA_DIR/data"
    kafka_java kafka.tools.StorageTool format --ignore-formatted \
      -t "$(cat "$KAFKA_DIR/cluster.id")" -c "$KAFKA_DIR/server.properties" \
      >>"$KAFKA_LOG" 2>&1 || die "kafka: formatting storage failed: read $KAFKA_LOG"
  fi
}

kafka_up() {
  fetch_jars kafka "$TEMPLATES/kafka-pom.xml" "$KAFKA_LIB"
  if kafka_healthy; then
    say "kafka: already up on $KAFKA_HOST:$KAFKA_PORT"
    return 0
  fi
  kafka_prepare
  if ! pid_of "$KAFKA_PID" kafka.Kafka >/dev/null; then
    port_open "$KAFKA_HOST" "$KAFKA_PORT" &&
      die "kafka: port $KAFKA_PORT is taken by a process that is not a healthy Kafka: free it first"
    say "kafka: starting on $KAFKA_HOST:$KAFKA_PORT (log: $KAFKA_LOG)"
    start_java "$KAFKA_PID" "$KAFKA_LOG" java -Xms256m -Xmx512m \
      -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true \
      -Dlog4j.configuration="file:$TEMPLATES/kafka-log4j.properties" \
      -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_DIR/server.properties"
  fi
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT_S))
  until kafka_healthy; do
    pid_of "$KAFKA_PID" kafka.Kafka >/dev/null ||
      die "kafka: the broker exited while starting: read $KAFKA_LOG"
    ((SECONDS < deadline)) ||
      die "kafka: not healthy after ${KAFKA_START_TIMEOUT_S}s: read $KAFKA_LOG"
    sleep 1
  done
  say "kafka: up on $KAFKA_HOST:$KAFKA_PORT"
}

# ------------------------------------------------------------------- s3 ----

# S3 requires x-amz-content-sha256 but curl 7.88 does not send it; every request
# here has an empty body, whose SHA-256 is this constant.
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

s3_curl() {
  curl -sS -o /dev/null -w '%{http_code}' --max-time 10 \
    --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
    -H "x-amz-content-sha256: $EMPTY_SHA256" "$@"
}

s3_healthy() {
  port_open "$S3_HOST" "$S3_PORT" || return 1
  [[ "$(s3_curl "http://$S3_HOST:$S3_PORT/$S3_BUCKET?list-type=2&max-keys=1" 2>/dev/null)" == 200 ]]
}

s3_create_bucket() {
  local code
  code="$(s3_curl -X PUT "http://$S3_HOST:$S3_PORT/$S3_BUCKET" 2>/dev/null || true)"
  case "$code" in
  200 | 409) ;; # 409: BucketAlreadyOwnedByYou
  *) die "s3: creating bucket '$S3_BUCKET' answered HTTP $code: read $S3_LOG" ;;
  esac
}

s3_up() {
  fetch_jars s3proxy "$TEMPLATES/s3proxy-pom.xml" "$S3_LIB"
  if s3_healthy; then
    # An S3Proxy this checkout started from other jars (an older pom) is
    # restarted, so a version change takes effect with the next `up`; one
    # started by someone else is left alone.
    if ! pid_of "$S3_PID" org.gaul.s3proxy.Main >/dev/null ||
      cmp -s "$S3_LIB/.fetched" "$S3_RUNNING"; then
      say "s3: already up on $S3_HOST:$S3_PORT with bucket '$S3_BUCKET'"
      return 0
    fi
    say "s3: restarting S3Proxy, which runs other jars than $(basename "$TEMPLATES/s3proxy-pom.xml") names"
    stop_pid s3 "$S3_PID" org.gaul.s3proxy.Main
  fi
  mkdir -p "$S3_DIR/data"
  render "$TEMPLATES/s3proxy.properties" "$S3_DIR/s3proxy.properties" \
    @S3_DATA_DIR@ "$S3_DIR/data"
  if ! pid_of "$S3_PID" org.gaul.s3proxy.Main >/dev/null; then
    port_open "$S3_HOST" "$S3_PORT" &&
      die "s3: port $S3_PORT is taken by a process that is not S3Proxy with bucket '$S3_BUCKET': free it first"
    say "s3: starting S3Proxy on $S3_HOST:$S3_PORT (log: $S3_LOG)"
    start_java "$S3_PID" "$S3_LOG" java -Xms64m -Xmx256m -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true \
      -Dlogback.configurationFile="$TEMPLATES/s3proxy-logback.xml" \
      -cp "$S3_LIB/*" org.gaul.s3proxy.Main --properties "$S3_DIR/s3proxy.properties"
    cp "$S3_LIB/.fetched" "$S3_RUNNING"
  fi
  local deadline=$((SECONDS + S3_START_TIMEOUT_S))
  until port_open "$S3_HOST" "$S3_PORT"; do
    pid_of "$S3_PID" org.gaul.s3proxy.Main >/dev/null ||
      die "s3: S3Proxy exited while starting: read $S3_LOG"
    ((SECONDS < deadline)) || die "s3: port $S3_PORT not open after ${S3_START_TIMEOUT_S}s: read $S3_LOG"
    sleep 0.5
  done
  s3_create_bucket
  s3_healthy || die "s3: listing bucket '$S3_BUCKET' failed: read $S3_LOG"
  say "s3: up on $S3_HOST:$S3_PORT with bucket '$S3_BUCKET'"
}

# ------------------------------------------------------ redis, postgres ----

redis_healthy() {
  [[ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

redis_up() {
  if redis_healthy; then
    say "redis: already up on $REDIS_HOST:$REDIS_PORT"
    return 0
  fi
  command -v redis-server >/dev/null 2>&1 || die "redis: redis-server is not installed (apt-get install -y redis-server)"
  say "redis: starting on $REDIS_HOST:$REDIS_PORT (log: /var/log/redis/ci.log)"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null
  touch "$REDIS_MARKER"
  local deadline=$((SECONDS + 20))
  until redis_healthy; do
    ((SECONDS < deadline)) || die "redis: no PONG after 20s: read /var/log/redis/ci.log"
    sleep 0.2
  done
  say "redis: up on $REDIS_HOST:$REDIS_PORT"
}

pg_healthy() {
  pg_isready -q -h "$PG_HOST" -p "$PG_PORT" >/dev/null 2>&1
}

pg_version() {
  ls /etc/postgresql
}

pg_up() {
  if pg_healthy; then
    say "postgres: already up on $PG_HOST:$PG_PORT"
    return 0
  fi
  command -v pg_ctlcluster >/dev/null 2>&1 || die "postgres: pg_ctlcluster is not installed (apt-get install -y postgresql)"
  say "postgres: starting on $PG_HOST:$PG_PORT (log: /var/log/postgresql/)"
  pg_ctlcluster --skip-systemctl-redirect "$(pg_version)" main start ||
    die "postgres: pg_ctlcluster failed: read /var/log/postgresql/postgresql-$(pg_version)-main.log"
  touch "$PG_MARKER"
  local deadline=$((SECONDS + 30))
  until pg_healthy; do
    ((SECONDS < deadline)) || die "postgres: not ready after 30s: read /var/log/postgresql/"
    sleep 0.3
  done
  say "postgres: up on $PG_HOST:$PG_PORT"
}

# ------------------------------------------------------------- commands ----

# Other sessions may run `up` or `down` at the same time; one at a time keeps
# them from starting a second broker or stopping one mid-start.
lock_state() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 300 9 || die "Cannot lock $STATE/.lock within 300s: another services.sh is still running"
}

cmd_up() {
  lock_state
  ensure_tools
  redis_up
  pg_up
  s3_up
  kafka_up
  say "all services up"
}

cmd_down() {
  lock_state
  stop_pid kafka "$KAFKA_PID" kafka.Kafka
  stop_pid s3 "$S3_PID" org.gaul.s3proxy.Main
  if [[ -f "$REDIS_MARKER" ]]; then
    say "redis: stopping (this script started it)"
    redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    rm -f "$REDIS_MARKER"
  fi
  if [[ -f "$PG_MARKER" ]]; then
    say "postgres: stopping (this script started it)"
    pg_ctlcluster --skip-systemctl-redirect "$(pg_version)" main stop || true
    rm -f "$PG_MARKER"
  fi
}

cmd_status() {
  local failed=0
  line() {
    local name="$1" address="$2" check="$3" health=down
    if "$check"; then health=up; else failed=1; fi
    printf '%-9s %-15s %s\n' "$name" "$address" "$health"
  }
  line kafka "$KAFKA_HOST:$KAFKA_PORT" kafka_healthy
  line s3 "$S3_HOST:$S3_PORT" s3_healthy
  line redis "$REDIS_HOST:$REDIS_PORT" redis_healthy
  line postgres "$PG_HOST:$PG_PORT" pg_healthy
  return "$failed"
}

usage() {
  cat <<EOF
deno task services: the real services of the integration tests, on 127.0.0.1

Usage: deno task services up|down|status   (or: bash scripts/services.sh ...)

  up       start what is not running: Kafka $KAFKA_HOST:$KAFKA_PORT (KRaft), S3Proxy
           $S3_HOST:$S3_PORT (bucket '$S3_BUCKET'), Redis $REDIS_HOST:$REDIS_PORT, PostgreSQL
           $PG_HOST:$PG_PORT; fetches Kafka's and S3Proxy's jars from Maven Central once,
           installs java, maven and curl with apt-get when missing
  down     stop what 'up' started (a Redis or PostgreSQL the machine runs stays)
  status   one line per service: up or down (exit code 1 when one is down)

State (jars, data, pids, logs) lives in \$FRESHET_SERVICES_DIR (default:
.services/ at the repository root). See docs/SERVICES.md.

Flags:
  -h, --help  print this help
EOF
}

main() {
  case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  -h | --help | help) usage ;;
  "")
    say "a command is needed: up, down or status (see --help)"
    exit 2
    ;;
  *)
    say "unknown command '$1' (known: up, down, status, --help)"
    exit 2
    ;;
  esac
}

main "$@"
