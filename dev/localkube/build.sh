#!/usr/bin/env bash
# Build whatever the cache lacks: Kubernetes binaries, Kaniko, images.
# The two Go builds run one after the other: on 2 cores, running them in
# parallel gains nothing and doubles peak memory.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$LOCALKUBE_DIR/build-kubernetes.sh"
"$LOCALKUBE_DIR/build-kaniko.sh"
"$LOCALKUBE_DIR/build-crane.sh"
"$LOCALKUBE_DIR/build-images.sh"
