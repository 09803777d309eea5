# shellcheck shell=bash
# Sourced by dev/localkube/lib.sh and dev/deploy/lib.sh, whose start_daemon uses it.
# close_inherited_fds: in a subshell about to exec a daemon, close every descriptor but 0-2, so a daemon
# never holds what its starter had open (a `flock LOCK make test` lock would otherwise outlive the run).
close_inherited_fds() {
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd="${fd##*/}"
    [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
  done
  return 0
}
