# shellcheck shell=bash
# wait_for LABEL SECONDS CMD...: poll CMD every 0.5 s until it succeeds. Sourced by dev/localkube/lib.sh
# and dev/deploy/lib.sh, after they define log().
wait_for() {
  local label="$1" secs="$2" start=$SECONDS; shift 2
  until "$@" >/dev/null 2>&1; do
    [ $((SECONDS - start)) -lt "$secs" ] || { log "timed out after ${secs}s waiting for $label"; return 1; }
    sleep 0.5
  done
  log "$label: ok after $((SECONDS - start))s"
}
