#!/usr/bin/env bash
# Build kube-apiserver, kube-controller-manager, kube-scheduler and kubelet
# ($K8S_VERSION) from the Go module proxy into $CACHE/bin/kubernetes-<v>/.
# Skips when already cached. `--regen` rewrites kubernetes/go.mod for $K8S_VERSION.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MOD_DIR="$LOCALKUBE_DIR/kubernetes"
CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet)

regen() {
  # k8s.io/kubernetes replaces every staging module with ./staging/...; point
  # each at its published v0.<minor>.<patch> instead.
  local v="$K8S_VERSION" staging
  log "regenerating $MOD_DIR/go.mod for k8s.io/kubernetes $v"
  staging="$(cd "$MOD_DIR" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  {
    echo "// Wrapper module: builds Kubernetes $v from the Go module proxy."
    echo "// k8s.io/kubernetes replaces its staging modules with local paths, so go install"
    echo "// of its commands is refused; this module re-points each staging module at its"
    echo "// published v0.x release instead. Regenerate with ../build-kubernetes.sh --regen."
    echo "module localkube/kubernetes"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes $v"
    echo
    echo "replace ("
    awk -v sv="v0.${v#v1.}" '/=> \.\/staging/ {print "\t" $1 " => " $1 " " sv}' "$staging"
    echo ")"
  } >"$MOD_DIR/go.mod"
  rm -f "$MOD_DIR/go.sum"
  local pkgs=()
  for c in "${CMDS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c@$v"); done
  (cd "$MOD_DIR" && go get "${pkgs[@]}")
}

if [ "${1:-}" = "--regen" ] || ! grep -q "^require k8s.io/kubernetes $K8S_VERSION\$" "$MOD_DIR/go.mod"; then
  regen
fi

have_all() { for c in "${CMDS[@]}"; do [ -x "$K8S_BIN/$c" ] || return 1; done; }
if have_all; then
  log "Kubernetes $K8S_VERSION: cached in $K8S_BIN"
  exit 0
fi

mkdir -p "$CACHE/logs" "$K8S_BIN.tmp"
pkgs=()
for c in "${CMDS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
# The version stamps matter: the kubelet reports it to the apiserver, and an
# unstamped v0.0.0 build trips version-skew checks.
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
log "building Kubernetes $K8S_VERSION (${CMDS[*]}); cold: ~10-12 min on 2 cores"
start=$SECONDS
cd "$MOD_DIR"
CGO_ENABLED=0 run_with_heartbeat "building kubernetes $K8S_VERSION" "$CACHE/logs/build-kubernetes.log" \
  go build -trimpath -ldflags "$ldflags" -o "$K8S_BIN.tmp/" "${pkgs[@]}"
rm -rf "$K8S_BIN"
mv "$K8S_BIN.tmp" "$K8S_BIN"
log "Kubernetes $K8S_VERSION built in $((SECONDS - start))s -> $K8S_BIN"
