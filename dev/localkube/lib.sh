# shellcheck shell=bash
# Shared settings and helpers for dev/localkube. Sourced by every script here.
set -euo pipefail

LOCALKUBE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# --- versions: change here, the cache keys and image tags follow -------------
K8S_VERSION="${K8S_VERSION:-v1.37.2}"
# The version wanted (the operator's default tag). The executor built comes from the first
# module in KANIKO_CANDIDATES that the Go module proxy serves (see build-kaniko.sh), and is
# pushed to the local registry under its own name (push-executor.sh, local_executor_image).
KANIKO_VERSION="${KANIKO_VERSION:-v1.28.3}"
KANIKO_CANDIDATES="${KANIKO_CANDIDATES:-github.com/osscontainertools/kaniko@v1.28.3 github.com/chainguard-dev/kaniko@v1.25.6 github.com/GoogleContainerTools/kaniko@v1.24.0}"
PAUSE_IMAGE="registry.k8s.io/pause:3.10"
# The pusher of isolate_push_credentials builds; tagged as the operator's default.
CRANE_VERSION="${CRANE_VERSION:-v0.22.1}"
CRANE_MODULE="github.com/google/go-containerregistry"
CRANE_IMAGE="gcr.io/go-containerregistry/crane:${CRANE_VERSION}"

# --- network: a bridge we create; nothing listens on other interfaces --------
BRIDGE="${LOCALKUBE_BRIDGE:-lkube0}"
SUBNET_PREFIX="${LOCALKUBE_SUBNET_PREFIX:-10.244.77}"
GATEWAY_IP="${SUBNET_PREFIX}.1"
REGISTRY_PORT="${LOCALKUBE_REGISTRY_PORT:-5000}"
REGISTRY="${GATEWAY_IP}:${REGISTRY_PORT}"
ETCD_PORT=12379       # not 2379, so a system etcd can never clash
ETCD_PEER_PORT=12380
APISERVER_PORT=6443
SERVICE_CIDR="10.96.0.0/24"
NAMESPACE="kaniko-builds"
CA_CONFIGMAP="registry-ca"

# --- directories --------------------------------------------------------------
CACHE="${LOCALKUBE_CACHE:-$HOME/.cache/airflow-kaniko/localkube}"
STATE="${LOCALKUBE_STATE:-$CACHE/state}"
SECRETS="$CACHE/secrets"            # survives `up`: registry credentials
K8S_BIN="$CACHE/bin/kubernetes-${K8S_VERSION}"
KANIKO_BIN="$CACHE/bin/kaniko-${KANIKO_VERSION}"   # holds SOURCE naming the module built
CRANE_BIN="$CACHE/bin/crane-${CRANE_VERSION}"
IMAGES="$CACHE/images"
PKI="$STATE/pki"
LOGS="$STATE/logs"
RUN="$STATE/run"
CTRD="$STATE/containerd"
CTRD_SOCK="$CTRD/containerd.sock"
RUNC_ROOT="$CTRD/runc"              # private runc root, never /run/containerd/runc
KUBELET_DIR="$STATE/kubelet"
CRED_JSON="$SECRETS/registry-credentials.json"
DOCKER_CONFIG_JSON="$STATE/docker-config.json"
ENV_FILE="$STATE/env.sh"
KUBECONFIG_ADMIN="$PKI/admin.kubeconfig"

export PATH="/usr/local/sbin:/usr/sbin:/sbin:$PATH"

# The executor's name in the local registry, for what build-kaniko.sh built (SOURCE: <module>@<version>):
# $REGISTRY/localkube/kaniko-executor:chainguard-dev-v1.25.6, say.
local_executor_image() {
  local src module owner
  src="$(cat "$KANIKO_BIN/SOURCE")"
  module="${src%@*}"
  owner="${module#github.com/}"
  echo "$REGISTRY/localkube/kaniko-executor:${owner%%/*}-${src##*@}"
}

log() { printf '%s [localkube] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# run_with_heartbeat LABEL LOGFILE CMD...: run CMD with output to LOGFILE and
# print "still <LABEL>… 1m30s" every 30 s so a long Go build is never silent.
run_with_heartbeat() {
  local label="$1" logfile="$2"; shift 2
  local start=$SECONDS
  "$@" >"$logfile" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    local i
    for i in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    if kill -0 "$pid" 2>/dev/null; then
      local t=$((SECONDS - start))
      log "still ${label}… $((t / 60))m$((t % 60))s (log: $logfile)"
    fi
  done
  local rc=0
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    log "${label} failed (rc=$rc); last lines of $logfile:"
    tail -n 30 "$logfile" >&2
  fi
  return "$rc"
}

pidfile() { echo "$RUN/$1.pid"; }

# running PID: the process exists and is not a zombie waiting to be reaped.
running() {
  local st
  st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# recorded_pid NAME: print the PID recorded for NAME if that process is still
# the binary we started (guards against PID reuse after a SIGKILLed run).
recorded_pid() {
  local f pid exe; f="$(pidfile "$1")"
  [ -s "$f" ] || return 1
  read -r pid exe <"$f" || true
  [ -n "$pid" ] && running "$pid" || return 1
  [ -z "$exe" ] || [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ] || return 1
  echo "$pid"
}

pid_alive() { recorded_pid "$1" >/dev/null; }

# stop_pid NAME [WAIT_SECONDS]: SIGTERM the recorded PID, wait, then SIGKILL it.
stop_pid() {
  local name="$1" wait="${2:-15}" pid i
  if pid="$(recorded_pid "$name")"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 $((wait * 10))); do running "$pid" || break; sleep 0.1; done
    if running "$pid"; then
      log "$name did not exit after ${wait}s; SIGKILL $pid"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
  fi
  rm -f "$(pidfile "$name")"
}

# start_daemon NAME BINARY ARGS...: start detached (own session), log to $LOGS/NAME.log,
# record "PID resolved-binary-path" in $RUN/NAME.pid.
start_daemon() {
  local name="$1" bin; shift
  bin="$(readlink -f "$(command -v "$1")")"
  ( close_inherited_fds; exec setsid "$@" >"$LOGS/$name.log" 2>&1 < /dev/null ) &
  echo "$! $bin" >"$(pidfile "$name")"
  log "started $name (pid $!, log $LOGS/$name.log)"
}

kubectl_admin() { kubectl --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }

# shellcheck source=dev/poll.sh
source "$LOCALKUBE_DIR/../poll.sh"
# shellcheck source=dev/daemon_fds.sh
source "$LOCALKUBE_DIR/../daemon_fds.sh"

ctr_k8s() { ctr --address "$CTRD_SOCK" --namespace k8s.io "$@"; }
