#!/usr/bin/env bash
# Builds the image from the unmodified Dockerfile with Podman, offline, runs the README's Docker section verbatim
# and proves the running container keeps its promises. Run as root after `npm install`:
#   sudo apt-get install podman runc debootstrap slirp4netns curl   # Debian or Ubuntu
#   sudo scripts/container-smoke.sh
# Podman's storage, the base images' root filesystems and Bun's install cache live in $RELAY_SMOKE_WORK
# (default /var/tmp/relay-container-smoke): the first run takes minutes, the next ones about half a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${RELAY_SMOKE_WORK:-/var/tmp/relay-container-smoke}
BUN_VERSION=$(node -p 'require("./package-lock.json").packages["node_modules/bun"].version')
SUITE=debian-bookworm
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
pass() { printf 'ok: %s\n' "$*"; }

[ "$(id -u)" = 0 ] || fail "run as root (Podman here runs rootful, without a registry)"
for tool in podman runc debootstrap slirp4netns nsenter curl node; do
  command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install podman runc debootstrap slirp4netns curl)"
done

# ---------------------------------------------------------------- Podman, offline, in a work folder
# Without systemd Podman cannot schedule health checks (this script runs them itself) and says so on every run.
podman() { command podman "$@" 2> >(grep -v "unable to get systemd connection" >&2); }
mkdir -p "$WORK"
export CONTAINERS_CONF=$WORK/containers.conf CONTAINERS_STORAGE_CONF=$WORK/storage.conf CONTAINERS_REGISTRIES_CONF=$WORK/registries.conf
cat >"$CONTAINERS_CONF" <<CONF
[containers]
# Within the sandbox's hard limits, which Podman's defaults exceed.
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
cat >"$CONTAINERS_STORAGE_CONF" <<CONF
[storage]
driver = "overlay"
graphroot = "$WORK/storage"
runroot = "$WORK/run"
CONF
cat >"$CONTAINERS_REGISTRIES_CONF" <<CONF
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"
CONF

# ---------------------------------------------------------------- stand-ins for the two base images
# No registry is reachable, so both are built here under the exact names the Dockerfile uses: oven/bun from a
# Debian bookworm root plus the Bun binary of the npm package; distroless from the Debian packages it contains.
# With network access, `podman pull` the real ones instead: a present image is never rebuilt.
has_image() { podman image exists "$1"; }

bun_standin() {
  local name=docker.io/oven/bun:$BUN_VERSION ctx=$WORK/ctx-bun
  has_image "$name" && return 0
  if [ ! -s "$WORK/$SUITE-minbase.tar" ]; then
    rm -rf "$WORK/minbase"
    debootstrap --variant=minbase bookworm "$WORK/minbase" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 ||
      fail "debootstrap failed (see $WORK/debootstrap.log)"
    tar -C "$WORK/minbase" --numeric-owner -cf "$WORK/$SUITE-minbase.tar.part" . && mv "$WORK/$SUITE-minbase.tar.part" "$WORK/$SUITE-minbase.tar"
    rm -rf "$WORK/minbase"
  fi
  rm -rf "$ctx" && mkdir -p "$ctx"
  ln "$WORK/$SUITE-minbase.tar" "$ctx/rootfs.tar" 2>/dev/null || cp "$WORK/$SUITE-minbase.tar" "$ctx/rootfs.tar"
  cp "$(readlink -f node_modules/.bin/bun)" "$ctx/bun"
  cat >"$ctx/Containerfile" <<'FILE'
FROM scratch
ADD rootfs.tar /
COPY bun /usr/local/bin/bun
RUN ["/bin/ln", "-s", "bun", "/usr/local/bin/bunx"]
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin BUN_RUNTIME_TRANSPILER_CACHE_PATH=0
WORKDIR /home/bun/app
CMD ["/usr/local/bin/bun"]
FILE
  podman build --network none --pull=never --format docker -q -t "$name" "$ctx" >/dev/null
  rm -rf "$ctx"
}

distroless_standin() {
  local name=gcr.io/distroless/base-debian12:nonroot ctx=$WORK/ctx-distroless
  has_image "$name" && return 0
  local debs=$WORK/distroless-debs packages=(base-files libc6 libssl3 ca-certificates netbase tzdata)
  if [ "$(ls "$debs"/*.deb 2>/dev/null | wc -l)" -lt "${#packages[@]}" ]; then
    mkdir -p "$debs" && (cd "$debs" && apt-get download "${packages[@]}" >"$WORK/apt-download.log" 2>&1) || fail "apt-get download ${packages[*]} failed (run apt-get update first)"
  fi
  rm -rf "$ctx" && mkdir -p "$ctx/root/etc/ssl/certs" "$ctx/root/tmp" "$ctx/root/home/nonroot" "$ctx/root/root"
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$ctx/root"; done
  # What update-ca-certificates would write.
  find "$ctx/root/usr/share/ca-certificates" -name '*.crt' -exec cat {} + >"$ctx/root/etc/ssl/certs/ca-certificates.crt"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$ctx/root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' >"$ctx/root/etc/group"
  chmod 1777 "$ctx/root/tmp" && chmod 700 "$ctx/root/root" "$ctx/root/home/nonroot" && chown 65532:65532 "$ctx/root/home/nonroot"
  tar -C "$ctx/root" --numeric-owner -cf "$ctx/rootfs.tar" . && rm -rf "$ctx/root"
  cat >"$ctx/Containerfile" <<'FILE'
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532
WORKDIR /home/nonroot
FILE
  podman build --network none --pull=never --format docker -q -t "$name" "$ctx" >/dev/null
  rm -rf "$ctx"
}

step "base images (stand-ins built offline when absent)"
t0=$SECONDS
# The first run fills the root filesystem cache from Debian's packages; later runs reuse it.
bun_standin
distroless_standin
pass "oven/bun:$BUN_VERSION and gcr.io/distroless/base-debian12:nonroot present ($((SECONDS - t0)) s)"

# ---------------------------------------------------------------- Bun's install cache, filled on the host
step "Bun install cache"
mkdir -p "$WORK/bun-cache" "$WORK/lock"
cp package.json package-lock.json "$WORK/lock/"
(cd "$WORK/lock" && BUN_INSTALL_CACHE_DIR=$WORK/bun-cache "$ROOT/node_modules/.bin/bun" install --frozen-lockfile --production --omit=peer >"$WORK/bun-install.log" 2>&1) ||
  fail "bun install on the host failed (see $WORK/bun-install.log)"
pass "filled $WORK/bun-cache"

# ---------------------------------------------------------------- the README's Docker section, verbatim
# It runs in a copy of the build's inputs, so a relay-config/ of yours is never touched.
CHECKOUT=$WORK/checkout
rm -rf "$CHECKOUT" && mkdir -p "$CHECKOUT"
cp -r Dockerfile .dockerignore package.json package-lock.json tsconfig.json src relay.example.yaml "$CHECKOUT/"
# The README publishes 8080; another free port stands in when something else holds it.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
any_free_port() { node -e 's = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })'; }
PORT=${RELAY_SMOKE_PORT:-8080}
port_free "$PORT" || PORT=$(any_free_port)
RECEIVED=$WORK/received.jsonl
RECEIVER=
cleanup() {
  [ -z "$RECEIVER" ] || kill "$RECEIVER" 2>/dev/null || true
  podman rm -f -t 0 relay relay-loopback >/dev/null 2>&1 || true
  podman volume rm -f relay-data >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

# `docker` as the README writes it, carried out by Podman offline.
docker() {
  local command=$1 args=() a
  shift
  case "$command" in
    build) podman build --network none --pull=never --format docker -v "$WORK/bun-cache:/root/.bun/install/cache" "$@" ;;
    run)
      for a in "$@"; do [ "$a" = "8080:8080" ] && a="127.0.0.1:$PORT:8080"; args+=("$a"); done
      podman run --network slirp4netns "${args[@]}" ;;
    *) podman "$command" "$@" ;;
  esac
}
# The first ```sh block under a heading of README.md.
readme_block() {
  awk -v h="$1" '$0 == h { f = 1; next } f && /^##/ { exit } f && /^```sh$/ { b = 1; next } b && /^```$/ { exit } b' README.md
}

step "README: Docker"
block=$(readme_block "### Docker")
[ -n "$block" ] || fail "no sh block under ### Docker in README.md"
printf '%s\n' "$block"
t0=$SECONDS
(cd "$CHECKOUT" && eval "$block") >"$WORK/readme-docker.log" 2>&1 || { tail -40 "$WORK/readme-docker.log"; fail "the README's Docker section failed"; }
grep -q "relay.yaml: ok" "$WORK/readme-docker.log" || fail "relay check did not pass the example in the container"
grep -qF 'storage.path: /data/relay.db (from $RELAY_STORAGE_PATH)' "$WORK/readme-docker.log" || fail "relay check did not report the image's storage path"
pass "built and started as the README says ($((SECONDS - t0)) s)"

pid() { podman inspect -f '{{.State.Pid}}' "$1"; }
healthy() { podman healthcheck run "$1" >/dev/null 2>&1; }
wait_healthy() {
  for _ in $(seq 1 150); do healthy "$1" && return 0; sleep 0.2; done
  return 1
}
wait_log() {
  for _ in $(seq 1 150); do podman logs "$1" 2>&1 | grep -q "$2" && return 0; sleep 0.2; done
  return 1
}

step "the image"
[ -n "$(podman image inspect relay -f '{{.Config.Healthcheck}}')" ] && [ "$(podman image inspect relay -f '{{.Config.Healthcheck}}')" != "<nil>" ] ||
  fail "the image has no HEALTHCHECK"
pass "HEALTHCHECK kept: $(podman image inspect relay -f '{{.Config.Healthcheck.Test}}')"
podman build --network none --pull=never --format docker -v "$WORK/bun-cache:/root/.bun/install/cache" --target build -t relay-build "$CHECKOUT" >"$WORK/build-stage.log" 2>&1 ||
  fail "the build stage failed (see $WORK/build-stage.log)"
installed=$(podman run --rm --network none --entrypoint /bin/ls relay-build /src/node_modules | tr '\n' ' ')
case " $installed " in *" typescript "* | *" @typescript "*) fail "the build installed TypeScript: $installed" ;; esac
pass "built offline; the build stage installed only: $installed"

step "the running container"
wait_healthy relay || { podman logs relay | tail -20; fail "the container never became healthy"; }
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$(pid relay)/status")
[ "$uid" = 65532 ] || fail "relay runs as uid $uid, not 65532"
pass "runs as uid 65532"
for shell in /bin/sh /bin/bash /bin/dash /bin/busybox /usr/bin/sh; do
  if podman exec relay "$shell" -c true >/dev/null 2>&1; then fail "$shell runs in the container"; fi
done
shells=$(podman export relay | tar -t | grep -E '(^|/)(sh|bash|dash|ash|busybox)$' || true)
[ -z "$shells" ] || fail "the image holds a shell: $shells"
podman exec relay /usr/local/bin/relay version >/dev/null || fail "podman exec does not work, so the shell test proves nothing"
pass "no shell (exec of /bin/sh and friends fails; none in the file system)"

volume=$(podman volume inspect relay-data -f '{{.Mountpoint}}')
[ -f "$volume/relay.db" ] || fail "no relay.db in the /data volume: $(ls -la "$volume")"
[ "$(stat -c %u "$volume/relay.db")" = 65532 ] || fail "relay.db is not owned by uid 65532"
[ ! -e "$CHECKOUT/relay-config/data" ] || fail "a database folder appeared in /config"
pass "the database is /data/relay.db, in the relay-data volume (the example's ./data/relay.db is overridden)"

step "health check honesty"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/health")
[ "$code" = 200 ] && healthy relay || fail "published port answered $code, health check $(healthy relay && echo passed || echo failed)"
pass "published port answers 200 and the health check passes"
if out=$(podman exec relay /usr/local/bin/relay health --port 8081 2>&1); then fail "health passed with nothing on port 8081"; fi
pass "nothing listening where asked fails: $out"
LOOPBACK_PORT=$(any_free_port)
podman run -d --name relay-loopback --network slirp4netns -p "127.0.0.1:$LOOPBACK_PORT:8080" -e RELAY_HOST=127.0.0.1 \
  -v "$CHECKOUT/relay-config:/config:ro" relay >/dev/null 2>&1
wait_log relay-loopback '"relay started"' || { podman logs relay-loopback; fail "the loopback container did not start"; }
if curl -s -m 3 -o /dev/null "http://127.0.0.1:$LOOPBACK_PORT/api/health"; then fail "a loopback-only server answered through the published port"; fi
if out=$(podman healthcheck run relay-loopback 2>&1); then fail "the health check passed a loopback-only server"; fi
out=$(podman exec relay-loopback /usr/local/bin/relay health --published 2>&1 || true)
case "$out" in *"server.host is 127.0.0.1"*) ;; *) fail "the health check did not say why: $out" ;; esac
podman rm -f -t 0 relay-loopback >/dev/null 2>&1
pass "server.host 127.0.0.1: the published port is dead and the health check fails, saying: $out"

step "README: Quick start order, delivered in the container's network namespace"
: >"$RECEIVED"
# The example's destinations are http://127.0.0.1:9000: listen there, inside the container's network namespace.
nsenter -t "$(pid relay)" -n node -e '
  const fs = require("node:fs");
  require("node:http").createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c)).on("end", () => {
      fs.appendFileSync(process.argv[1], JSON.stringify({ path: req.url, headers: req.headers, body }) + "\n");
      res.end("{\"status\":\"success\"}");
    });
  }).listen(9000, "127.0.0.1");
' "$RECEIVED" &
RECEIVER=$!
for _ in $(seq 1 50); do nsenter -t "$(pid relay)" -n curl -s -o /dev/null http://127.0.0.1:9000/ready && break; sleep 0.1; done
: >"$RECEIVED"
order=$(awk '/^## Quick start/ { f = 1 } f && /^```sh$/ { b = 1; s = ""; next } b && /^```$/ { if (s ~ /^curl /) { print s; exit } b = 0; next } b { s = s $0 "\n" }' README.md)
[ -n "$order" ] || fail "no curl block in the README's Quick start"
answer=$(eval "${order//127.0.0.1:8080/127.0.0.1:$PORT}" 2>/dev/null)
printf '%s\n' "$answer" | head -1
case "$answer" in "HTTP/1.1 202"*) ;; *) fail "the order was not accepted: $answer" ;; esac
for _ in $(seq 1 100); do grep -q '"/leads"' "$RECEIVED" && break; sleep 0.1; done
lead=$(grep '"/leads"' "$RECEIVED" || true)
[ -n "$lead" ] || fail "the CRM receiver got nothing; relay logs: $(podman logs relay 2>&1 | tail -5)"
# The lead must carry the README order's own number and (lower-cased) e-mail, whatever the example says.
node -e '
  const r = JSON.parse(process.argv[1]), lead = JSON.parse(r.body);
  const sent = JSON.parse(process.argv[2].match(/-d '"'"'(.*)'"'"'/s)[1]).order;
  if (lead.SerialNumber !== sent.order_number || lead.Email !== sent.customer_email.toLowerCase()) throw new Error("unexpected lead " + r.body);
  if (!/^sha256=[0-9a-f]{64}$/.test(r.headers["x-aficial-signature"])) throw new Error("unsigned: " + JSON.stringify(r.headers));
' "$lead" "$order" || fail "the delivered lead is not the example's"
pass "202, then the lead for order 4521, signed, reached 127.0.0.1:9000 inside the container's namespace"

step "SIGTERM and restart"
podman stop relay >/dev/null
code=$(podman inspect relay -f '{{.State.ExitCode}}')
[ "$code" = 0 ] || fail "podman stop: relay exited with $code"
podman logs relay 2>&1 | grep -q '"signal":"SIGTERM"' || fail "relay did not log the SIGTERM"
[ ! -s "$volume/relay.db-wal" ] || fail "relay.db-wal holds $(stat -c %s "$volume/relay.db-wal") bytes after the stop: not checkpointed"
counts=$("$ROOT/node_modules/.bin/bun" -e '
  const { Database } = require("bun:sqlite");
  const db = new Database(process.argv[1], { readonly: true });
  const one = (sql) => Object.values(db.query(sql).get())[0];
  console.log(one("select count(*) from events"), one("select count(*) from deliveries where status = '\''delivered'\''"));
' "$volume/relay.db")
[ "$counts" = "1 1" ] || fail "after the stop the database holds events/delivered: $counts"
pass "exit 0 on SIGTERM; WAL checkpointed into relay.db (1 event, 1 delivered)"
podman start relay >/dev/null 2>&1
wait_healthy relay || fail "the restarted container is not healthy"
events=$(curl -s -H 'Authorization: Bearer change-me-admin-token' "http://127.0.0.1:$PORT/api/events?q=4521")
case "$events" in *'"delivered":1'*) ;; *) fail "after a restart the event is gone: $events" ;; esac
pass "restarted: the event and its delivery are still there"

step "what a wrong mount does"
podman run --rm --network none -e RELAY_STORAGE_PATH= -v "$CHECKOUT/relay-config:/config:ro" relay check >/dev/null 2>"$WORK/check.err" || true
grep -Eq "not writable for uid 65532|read-only file system" "$WORK/check.err" && grep -q "in the config's folder" "$WORK/check.err" ||
  fail "relay check did not warn about ./data/relay.db in the read-only /config: $(cat "$WORK/check.err")"
pass "relay check warns: $(head -1 "$WORK/check.err")"
rootdata=$(mktemp -d) && chmod 755 "$rootdata"
if podman run --rm --network none -v "$rootdata:/data" -v "$CHECKOUT/relay-config:/config:ro" relay >"$WORK/rootdata.log" 2>&1; then
  fail "relay started on a /data it cannot write"
fi
rmdir "$rootdata"
grep -q "/data" "$WORK/rootdata.log" && grep -q "uid 65532" "$WORK/rootdata.log" || fail "the error names neither path nor uid: $(cat "$WORK/rootdata.log")"
pass "a root-owned /data stops the start: $(tail -1 "$WORK/rootdata.log")"

step "container smoke passed"
