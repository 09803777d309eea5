#!/usr/bin/env bash
# Push the Kaniko executor and its -debug image that build-images.sh assembled into the local registry,
# named for what they are: $REGISTRY/localkube/kaniko-executor:<source>-<version>[-debug], where SOURCE
# names the module build-kaniko.sh built (the package's default name is upstream's, which this build is not).
# The build pods pull them from there (containerd has the registry's CA and credentials), and the
# maintenance planner resolves the executor's digest there, as it would on a real registry.
# Then (re)writes the executor lines of env.sh. Idempotent: a copy of what is there already moves nothing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

executor="$(local_executor_image)"
for pair in "kaniko-$KANIKO_VERSION.tar $executor" "kaniko-$KANIKO_VERSION-debug.tar $executor-debug"; do
  set -- $pair
  skopeo copy -q --authfile "$DOCKER_CONFIG_JSON" --dest-cert-dir "$STATE/registry/certs.d" \
    "docker-archive:$IMAGES/$1" "docker://$2"
done
log "pushed $executor and $executor-debug"

# The e2e tier's processes read the [kaniko] section from the environment; dev/deploy writes airflow.cfg.
if [ -s "$ENV_FILE" ]; then
  sed -i '/^export LOCALKUBE_KANIKO_\|^export AIRFLOW__KANIKO__/d' "$ENV_FILE"
  cat >>"$ENV_FILE" <<ENV
export LOCALKUBE_KANIKO_IMAGE=$executor
export LOCALKUBE_KANIKO_DEBUG_IMAGE=$executor-debug
export AIRFLOW__KANIKO__EXECUTOR_IMAGE=$executor
export AIRFLOW__KANIKO__DEBUG_EXECUTOR_IMAGE=$executor-debug
ENV
fi
