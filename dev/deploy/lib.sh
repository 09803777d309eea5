# shellcheck shell=bash
# Shared settings and helpers for dev/deploy, the local Airflow deployment. Sourced by every script here.
set -euo pipefail

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CHECKOUT="$(cd "$DEPLOY_DIR/../.." && pwd)"
LOCALKUBE_DIR="$CHECKOUT/dev/localkube"

# --- versions: the cache keys follow them --------------------------------------------
PG_MAJOR="${PG_MAJOR:-15}"                      # Debian 12's PostgreSQL
PG_BIN="/usr/lib/postgresql/$PG_MAJOR/bin"

# --- addresses: loopback and a Unix socket only ----------------------------------------
API_HOST=127.0.0.1
API_PORT="${AIRFLOW_DEPLOY_PORT:-28080}"
API_URL="http://$API_HOST:$API_PORT"
BUILD_NAMESPACE="${AIRFLOW_DEPLOY_NAMESPACE:-airflow-deploy}"   # made with dev/localkube/namespace

# --- directories -----------------------------------------------------------------------
CACHE="${AIRFLOW_DEPLOY_CACHE:-$HOME/.cache/airflow-kaniko/deploy}"
SECRETS="$CACHE/secrets"                 # kept: API passwords, JWT/session/Fernet keys
PGDATA="$CACHE/postgres-$PG_MAJOR"       # kept: the metadata database cluster
RUN="$CACHE/run"                         # PIDs, the PostgreSQL socket, env.sh
LOGS="$CACHE/logs"
PG_SOCKET_DIR="$RUN/postgres"
ENV_FILE="$RUN/env.sh"
PASSWORDS_FILE="$SECRETS/api-passwords.json"   # simple auth manager format: {"user": "password"}
KEYS_FILE="$SECRETS/airflow-keys.env"

export PATH="/usr/local/sbin:/usr/sbin:/sbin:$PATH"

log() { printf '%s [deploy] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The venv whose airflow runs the deployment: $VENV (the Makefile passes it), else the one on PATH.
venv_dir() {
  if [ -n "${VENV:-}" ]; then echo "$VENV"; return; fi
  local py; py="$(command -v python3)"
  [ -x "$(dirname "$py")/airflow" ] || die "set VENV to the project's venv (make airflow-up does)"
  dirname "$(dirname "$py")"
}

airflow_version() { "$1/bin/python" -c 'from importlib.metadata import version; print(version("apache-airflow-core"))'; }

pidfile() { echo "$RUN/$1.pid"; }

# stat_field PID N: field N of /proc/PID/stat (N >= 3), read after the command name, which may hold spaces.
stat_field() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  awk -v n="$(($2 - 2))" '{print $n}' <<<"${stat##*) }"
}

# Start time of a process in clock ticks since boot: with the PID it names one process for good.
starttime() { stat_field "$1" 22; }

running() {
  local st
  st="$(stat_field "$1" 3)" || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# recorded_pid NAME: the PID recorded for NAME, if that very process (same start time) still runs.
recorded_pid() {
  local f pid start; f="$(pidfile "$1")"
  [ -s "$f" ] || return 1
  read -r pid start <"$f" || true
  [ -n "$pid" ] && running "$pid" && [ "$(starttime "$pid")" = "$start" ] || return 1
  echo "$pid"
}

pid_alive() { recorded_pid "$1" >/dev/null; }

# start_daemon NAME CMD...: in its own session, logging to $LOGS/NAME.log; records "PID starttime".
start_daemon() {
  local name="$1"; shift
  ( close_inherited_fds; exec setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null ) &
  local pid=$!
  local start=""
  for _ in $(seq 1 50); do start="$(starttime "$pid")" && [ -n "$start" ] && break; sleep 0.1; done
  echo "$pid $start" >"$(pidfile "$name")"
  log "started $name (pid $pid, log $LOGS/$name.log)"
}

# session_members SID: processes of the session a daemon was started in (its workers, task processes).
session_members() {
  local p
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    [ "$(stat_field "$p" 6)" = "$1" ] && running "$p" && echo "$p"
  done
  return 0
}

# stop_daemon NAME SIGNAL WAIT: signal the recorded PID, wait, then SIGKILL what is left of its session.
stop_daemon() {
  local name="$1" sig="$2" wait="$3" pid rest
  if pid="$(recorded_pid "$name")"; then
    log "stopping $name (pid $pid, SIG$sig)"
    kill -"$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((wait * 10))); do running "$pid" || break; sleep 0.1; done
    rest="$(session_members "$pid")"
    if [ -n "$rest" ]; then
      log "$name: SIGKILL what is left of its session: $(echo $rest)"
      kill -KILL $rest 2>/dev/null || true
    fi
  fi
  rm -f "$(pidfile "$name")"
}

as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups --reset-env -- "$@"; }

# shellcheck source=dev/poll.sh
source "$CHECKOUT/dev/poll.sh"
# shellcheck source=dev/daemon_fds.sh
source "$CHECKOUT/dev/daemon_fds.sh"

AIRFLOW_DAEMONS=(api-server scheduler dag-processor triggerer)
