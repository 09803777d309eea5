#!/usr/bin/env bash
# Install the Debian packages localkube needs; a no-op when all are present.
# With package names as arguments, install just those (`make test-unit` uses it for busybox-static).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(
  containerd runc containernetworking-plugins   # container runtime + CNI bridge/host-local/loopback
  etcd-server                                   # 3.4.23 in bookworm: enough for kube-apiserver 1.37
  docker-registry                               # distribution 2.8, htpasswd(bcrypt) + TLS
  umoci skopeo busybox-static                   # assemble OCI images from plain directories
  ca-certificates openssl apache2-utils         # PKI + bcrypt htpasswd
  iptables iproute2 util-linux curl
)
if [ "$#" -gt 0 ]; then PACKAGES=("$@"); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "$#" -eq 0 ]; then
  command -v go >/dev/null || die "Go toolchain (>= 1.24) not found on PATH"
  command -v kubectl >/dev/null || die "kubectl not found on PATH (the preinstalled one is used; do not install Debian's kubernetes-client)"
fi
if [ "${#missing[@]}" -eq 0 ]; then
  log "Debian packages: all present"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || die "need root to install: ${missing[*]}"
log "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
mkdir -p "$CACHE"
# apt may have no lists yet on a fresh machine; update once, then install.
if ! apt-get install -y --no-install-recommends "${missing[@]}" >"$CACHE/apt-install.log" 2>&1; then
  log "apt-get update"
  apt-get update >"$CACHE/apt-update.log" 2>&1
  apt-get install -y --no-install-recommends "${missing[@]}" >"$CACHE/apt-install.log" 2>&1 \
    || { tail -20 "$CACHE/apt-install.log" >&2; die "apt-get install failed"; }
fi
log "Debian packages installed"
