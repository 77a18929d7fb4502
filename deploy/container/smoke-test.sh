#!/usr/bin/env bash
# Builds the abproxy image and checks it the way an orchestrator uses it: the container starts with the
# default config as user node, its own HEALTHCHECK command passes, the data plane answers the README's
# request from a local model, and SIGTERM drains it to exit code 0.
#   deploy/container/smoke-test.sh                 # docker
#   ENGINE=podman deploy/container/smoke-test.sh   # podman (or buildah-backed) engines
# BUILD_ARGS and RUN_ARGS pass extra flags to the build and run commands (e.g. a mirrored base image:
# BUILD_ARGS="--build-arg NODE_IMAGE=registry.example/node:22-bookworm-slim").
set -euo pipefail
cd "$(dirname "$0")/../.."

ENGINE=${ENGINE:-docker}
IMAGE=${IMAGE:-abproxy:smoke-test}
NAME=abproxy-smoke-test-$$
DATA_PORT=${DATA_PORT:-18080}
ADMIN_PORT=${ADMIN_PORT:-19901}
fail() { echo "smoke-test: FAILED: $*" >&2; "$ENGINE" logs "$NAME" 2>&1 | tail -20 >&2 || true; exit 1; }
cleanup() { "$ENGINE" rm -f "$NAME" >/dev/null 2>&1 || true; }
trap cleanup EXIT

# podman writes OCI images by default, which have no HEALTHCHECK: ask for the Docker format.
format=()
[ "$(basename "$ENGINE")" = podman ] && format=(--format docker)
# shellcheck disable=SC2086 # BUILD_ARGS and RUN_ARGS are lists of flags
"$ENGINE" build "${format[@]}" ${BUILD_ARGS:-} -t "$IMAGE" .
user=$("$ENGINE" image inspect "$IMAGE" --format '{{.Config.User}}')
[ "$user" = node ] || fail "image runs as '$user', not node"

# shellcheck disable=SC2086
"$ENGINE" run -d --name "$NAME" -p "127.0.0.1:$DATA_PORT:8080" -p "127.0.0.1:$ADMIN_PORT:9901" \
  -e ABPROXY_ADMIN_TOKEN=smoke-test ${RUN_ARGS:-} "$IMAGE" >/dev/null

# The image's own HEALTHCHECK test (["CMD", arg...] or ["CMD-SHELL", "command"]), run inside the container.
healthcheck=$("$ENGINE" image inspect "$IMAGE" --format '{{json .Config.Healthcheck.Test}}')
mapfile -t check < <(node -e 'const [kind, ...args] = JSON.parse(process.argv[1]); for (const a of kind === "CMD-SHELL" ? ["sh", "-c", ...args] : args) console.log(a)' "$healthcheck")
[ "${#check[@]}" -gt 0 ] || fail "the image has no HEALTHCHECK"
for _ in $(seq 1 60); do
  if "$ENGINE" exec "$NAME" "${check[@]}"; then ready=1; break; fi
  sleep 1
done
[ "${ready:-0}" = 1 ] || fail "HEALTHCHECK $healthcheck never passed"
echo "smoke-test: ready (HEALTHCHECK $healthcheck)"

answer=$(curl -sS -i -X POST "http://127.0.0.1:$DATA_PORT/v2/models/fraud/infer" -H 'content-type: application/json' \
  -H 'x-session-id: user-42' --data-binary @config/example-request.json)
grep -q '^HTTP/1.1 200' <<<"$answer" || fail "README request: $(head -1 <<<"$answer")"
grep -qi '^x-abproxy-variant: ' <<<"$answer" || fail "no x-abproxy-variant header"
grep -q '"fraud_probability"' <<<"$answer" || fail "no fraud_probability output"
echo "smoke-test: $(grep -i '^x-abproxy-variant' <<<"$answer" | tr -d '\r'), $(tail -1 <<<"$answer" | head -c 120)"

"$ENGINE" stop -t 20 "$NAME" >/dev/null
code=$("$ENGINE" inspect "$NAME" --format '{{.State.ExitCode}}')
[ "$code" = 0 ] || fail "exit code $code after SIGTERM"
"$ENGINE" logs "$NAME" 2>&1 | grep -q '"msg":"draining"' || fail "no drain logged after SIGTERM"
echo "smoke-test: SIGTERM drained, exit 0"
echo "smoke-test: passed"
