#!/usr/bin/env bash
# Assemble the OCI images localkube needs from plain directories (no registry
# can be pulled from here), into $CACHE/images/:
#   kaniko-<v>.tar, kaniko-<v>-debug.tar  docker-archives, pushed to the registry
#                                         under their own name by push-executor.sh
#   pause-3.10.tar                        the kubelet's sandbox image
#   oci/busybox (OCI layout, tag latest)  base image, pushed to the registry by start.sh
# An image is rebuilt only when missing or older than its inputs.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUSYBOX_BIN=/bin/busybox     # Debian busybox-static: a static binary
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
WORK="$CACHE/images/work"
mkdir -p "$IMAGES" "$WORK"

# up_to_date OUT INPUT...: OUT exists and is newer than every INPUT.
up_to_date() {
  local out="$1"; shift
  [ -e "$out" ] || return 1
  local i; for i in "$@"; do [ "$out" -nt "$i" ] || return 1; done
}

# oci_from_rootfs LAYOUT TAG ROOTFS [umoci config flags...]: one-layer image.
oci_from_rootfs() {
  local layout="$1" tag="$2" rootfs="$3"; shift 3
  [ -d "$layout" ] || umoci init --layout "$layout"
  umoci rm --image "$layout:$tag" 2>/dev/null || true
  umoci new --image "$layout:$tag"
  umoci insert --image "$layout:$tag" "$rootfs" /
  umoci config --image "$layout:$tag" --os linux --architecture amd64 "$@"
  umoci gc --layout "$layout"
}

# busybox_into DIR: busybox plus one hard link per applet, in DIR.
busybox_into() {
  local dir="$1" applet
  mkdir -p "$dir"
  cp "$BUSYBOX_BIN" "$dir/busybox"
  for applet in $("$BUSYBOX_BIN" --list); do
    [ "$applet" = busybox ] || ln -f "$dir/busybox" "$dir/$applet"
  done
}

# --- Kaniko executor + debug, laid out like upstream deploy/Dockerfile --------
build_kaniko() {
  local out="$IMAGES/kaniko-$KANIKO_VERSION.tar" dbg="$IMAGES/kaniko-$KANIKO_VERSION-debug.tar"
  if up_to_date "$out" "$KANIKO_BIN/executor" "${BASH_SOURCE[0]}" && up_to_date "$dbg" "$KANIKO_BIN/executor" "${BASH_SOURCE[0]}"; then
    log "image kaniko-$KANIKO_VERSION (+ -debug): cached"; return
  fi
  log "assembling the executor image and its -debug (executor from $(cat "$KANIKO_BIN/SOURCE"))"
  local r="$WORK/kaniko-rootfs" layout="$WORK/kaniko-oci"
  rm -rf "$r" "$r-debug" "$layout"
  mkdir -p "$r/kaniko/ssl/certs" "$r/kaniko/.docker" "$r/etc" "$r/workspace"
  chmod 777 "$r/kaniko"           # upstream: world-writable so non-root runs work
  install -m 0755 "$KANIKO_BIN/executor" "$r/kaniko/executor"
  cp "$CA_BUNDLE" "$r/kaniko/ssl/certs/ca-certificates.crt"
  printf 'hosts: files dns\n' >"$r/etc/nsswitch.conf"
  local common=(--config.env HOME=/root --config.env USER=root
    --config.env SSL_CERT_DIR=/kaniko/ssl/certs --config.env DOCKER_CONFIG=/kaniko/.docker/
    --config.workingdir /workspace --config.entrypoint /kaniko/executor
    --config.label "org.opencontainers.image.source=$(cat "$KANIKO_BIN/SOURCE")"
    --config.label "org.opencontainers.image.description=localkube build of the Kaniko executor")
  oci_from_rootfs "$layout" exec "$r" --config.env PATH=/usr/local/bin:/kaniko "${common[@]}"

  cp -a "$r" "$r-debug"
  [ -x "$KANIKO_BIN/warmer" ] && install -m 0755 "$KANIKO_BIN/warmer" "$r-debug/kaniko/warmer"
  busybox_into "$r-debug/busybox"
  mkdir -p "$r-debug/bin"
  ln -s /busybox/sh "$r-debug/bin/sh"
  oci_from_rootfs "$layout" debug "$r-debug" --config.env PATH=/usr/local/bin:/kaniko:/busybox \
    --config.volume /busybox "${common[@]}"

  rm -f "$out" "$dbg"
  local name; name="$(local_executor_image)"
  skopeo copy -q "oci:$layout:exec" "docker-archive:$out.tmp:$name" && mv "$out.tmp" "$out"
  skopeo copy -q "oci:$layout:debug" "docker-archive:$dbg.tmp:$name-debug" && mv "$dbg.tmp" "$dbg"
  rm -rf "$r" "$r-debug"
}

# --- pause: sandbox image for the kubelet -------------------------------------
build_pause() {
  local out="$IMAGES/pause-${PAUSE_IMAGE##*:}.tar" src="$LOCALKUBE_DIR/pause"
  if up_to_date "$out" "$src/main.go" "${BASH_SOURCE[0]}"; then log "image $PAUSE_IMAGE: cached"; return; fi
  log "building $PAUSE_IMAGE"
  local r="$WORK/pause-rootfs" layout="$WORK/pause-oci"
  rm -rf "$r" "$layout"; mkdir -p "$r"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$r/pause" .)
  oci_from_rootfs "$layout" pause "$r" --config.entrypoint /pause --config.user 65535:65535
  rm -f "$out"
  skopeo copy -q "oci:$layout:pause" "docker-archive:$out.tmp:$PAUSE_IMAGE" && mv "$out.tmp" "$out"
  rm -rf "$r"
}

# --- busybox base image for example Dockerfiles (pushed to the registry) ------
build_busybox() {
  local layout="$IMAGES/oci/busybox"
  if up_to_date "$layout/index.json" "$BUSYBOX_BIN" "${BASH_SOURCE[0]}"; then log "image library/busybox:latest: cached"; return; fi
  log "assembling library/busybox:latest"
  local r="$WORK/busybox-rootfs"
  rm -rf "$r" "$layout"; mkdir -p "$IMAGES/oci"
  busybox_into "$r/bin"
  mkdir -p "$r/etc" "$r/root" "$r/home/app" "$r/tmp" "$r/var" "$r/usr/bin"
  chmod 1777 "$r/tmp"; chmod 0700 "$r/root"; chown 1000:1000 "$r/home/app"
  printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r/etc/passwd"
  printf 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n' >"$r/etc/group"
  printf 'hosts: files dns\n' >"$r/etc/nsswitch.conf"
  oci_from_rootfs "$layout" latest "$r" --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.cmd /bin/sh
  rm -rf "$r"
}

build_pause
build_busybox
build_kaniko
log "images ready in $IMAGES"
