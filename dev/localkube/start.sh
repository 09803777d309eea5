#!/usr/bin/env bash
# Start localkube from cached artefacts with fresh runtime state:
# bridge, registry, containerd, etcd, apiserver, controller-manager, scheduler,
# kubelet; then wait for the node and set up the build namespace and env.sh.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for b in kube-apiserver kube-controller-manager kube-scheduler kubelet; do
  [ -x "$K8S_BIN/$b" ] || die "$K8S_BIN/$b missing: run build-kubernetes.sh"
done
for t in "kaniko-$KANIKO_VERSION.tar" "kaniko-$KANIKO_VERSION-debug.tar" "pause-${PAUSE_IMAGE##*:}.tar" oci/busybox/index.json; do
  [ -e "$IMAGES/$t" ] || die "$IMAGES/$t missing: run build-images.sh"
done

# --- fresh state ---------------------------------------------------------------
"$LOCALKUBE_DIR/down" --quiet
# Never rm -rf through a mount that down could not remove.
if awk -v s="$STATE/" 'index($5, s) == 1 {found=1} END {exit !found}' /proc/self/mountinfo; then
  die "mounts remain under $STATE (see /proc/self/mountinfo); unmount them, then rerun"
fi
rm -rf "$STATE"
mkdir -p "$STATE" "$LOGS" "$RUN" "$CTRD" "$KUBELET_DIR" "$SECRETS"
chmod 0711 "$STATE"; chmod 0700 "$SECRETS"

# --- registry credentials: generated once, kept in $CACHE/secrets -------------
if [ ! -s "$CRED_JSON" ]; then
  log "generating registry credentials in $CRED_JSON"
  ( umask 077
    python3 - "$CRED_JSON" <<'PY'
import json, secrets, sys
with open(sys.argv[1], "w") as f:
    json.dump({"username": "localkube", "password": secrets.token_urlsafe(24)}, f)
PY
  )
fi
chmod 0600 "$CRED_JSON"
REG_USER="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["username"])' "$CRED_JSON")"
REG_PASS="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["password"])' "$CRED_JSON")"
# A docker config.json for clients (skopeo here; tests can turn it into a
# kubernetes.io/dockerconfigjson Secret as is).
( umask 077
  python3 - "$CRED_JSON" "$REGISTRY" "$DOCKER_CONFIG_JSON" <<'PY'
import base64, json, sys
c = json.load(open(sys.argv[1]))
auth = base64.b64encode(f'{c["username"]}:{c["password"]}'.encode()).decode()
json.dump({"auths": {sys.argv[2]: {"auth": auth}}}, open(sys.argv[3], "w"))
PY
)

"$LOCALKUBE_DIR/pki.sh"

# --- network -------------------------------------------------------------------
cat /proc/sys/net/ipv4/ip_forward >"$RUN/ip_forward.orig"
ip link add "$BRIDGE" type bridge
ip addr add "$GATEWAY_IP/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
# The CNI bridge plugin turns ip_forward on; pods must still never reach
# anything beyond the bridge (no NAT, no routing outward).
iptables -I FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -j DROP
iptables -I FORWARD -o "$BRIDGE" ! -i "$BRIDGE" -j DROP
log "bridge $BRIDGE up with $GATEWAY_IP/24 (forwarding off the bridge dropped)"

# --- registry (TLS + bcrypt htpasswd) on the gateway IP ------------------------
mkdir -p "$STATE/registry/data"
printf '%s\n' "$REG_PASS" | htpasswd -iBc "$STATE/registry/htpasswd" "$REG_USER" 2>/dev/null
chmod 0600 "$STATE/registry/htpasswd"
( umask 077
cat >"$STATE/registry/config.yml" <<YML
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $STATE/registry/data
  delete:
    enabled: true
http:
  addr: $REGISTRY
  secret: $(openssl rand -hex 16)
  tls:
    certificate: $PKI/registry.crt
    key: $PKI/registry.key
auth:
  htpasswd:
    realm: localkube
    path: $STATE/registry/htpasswd
YML
)
start_daemon registry docker-registry serve "$STATE/registry/config.yml"

# --- containerd (private socket/root/state; CRI for the kubelet) ---------------
mkdir -p "$STATE/cni/net.d" "$CTRD/certs.d/$REGISTRY"
cat >"$STATE/cni/net.d/10-localkube.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "localkube",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "$SUBNET_PREFIX.0/24", "rangeStart": "$SUBNET_PREFIX.10", "gateway": "$GATEWAY_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "loopback"}
  ]
}
JSON
cat >"$CTRD/certs.d/$REGISTRY/hosts.toml" <<TOML
server = "https://$REGISTRY"
[host."https://$REGISTRY"]
  capabilities = ["pull", "resolve"]
  ca = "$PKI/registry-ca.crt"
TOML
( umask 077
cat >"$CTRD/config.toml" <<TOML
version = 2
root = "$CTRD/root"
state = "$CTRD/state"
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CTRD/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # No CAP_SYS_RESOURCE on these VMs: runc must not lower oom_score_adj.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$RUNC_ROOT"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$CTRD/certs.d"
    # Node-level pull credentials for our registry: pods need no imagePullSecrets.
    [plugins."io.containerd.grpc.v1.cri".registry.configs."$REGISTRY".auth]
      username = "$REG_USER"
      password = "$REG_PASS"
TOML
)
start_daemon containerd containerd --config "$CTRD/config.toml"
wait_for "containerd socket" 30 ctr --address "$CTRD_SOCK" version
# The executor is pulled from the registry (push-executor.sh), not imported under the default's name.
for t in "pause-${PAUSE_IMAGE##*:}.tar" "crane-$CRANE_VERSION.tar"; do
  ctr_k8s images import --no-unpack "$IMAGES/$t" >/dev/null
done
log "imported $PAUSE_IMAGE, $CRANE_IMAGE into containerd"

# --- etcd ------------------------------------------------------------------------
start_daemon etcd etcd --name localkube --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "localkube=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new
wait_for "etcd" 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

# --- base image into the registry (while the apiserver starts) ---------------------
mkdir -p "$STATE/registry/certs.d"
cp "$PKI/registry-ca.crt" "$STATE/registry/certs.d/ca.crt"
wait_for "registry" 30 curl -sS -o /dev/null --cacert "$PKI/registry-ca.crt" "https://$REGISTRY/v2/"

# --- control plane -----------------------------------------------------------------
start_daemon kube-apiserver "$K8S_BIN/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 --secure-port="$APISERVER_PORT" --advertise-address="$GATEWAY_IP" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$PKI/ca.crt" \
  --kubelet-preferred-address-types=Hostname,InternalIP \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --allow-privileged=true --profiling=false
skopeo copy -q --authfile "$DOCKER_CONFIG_JSON" --dest-cert-dir "$STATE/registry/certs.d" \
  "oci:$IMAGES/oci/busybox:latest" "docker://$REGISTRY/library/busybox:latest"
log "pushed $REGISTRY/library/busybox:latest"
wait_for "kube-apiserver /readyz" 90 curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
  "https://127.0.0.1:$APISERVER_PORT/readyz"

start_daemon kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig="$PKI/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$PKI/controller-manager.kubeconfig" --authorization-kubeconfig="$PKI/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --use-service-account-credentials=true \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" --controllers='*' --profiling=false
start_daemon kube-scheduler "$K8S_BIN/kube-scheduler" \
  --kubeconfig="$PKI/scheduler.kubeconfig" \
  --authentication-kubeconfig="$PKI/scheduler.kubeconfig" --authorization-kubeconfig="$PKI/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --profiling=false

# --- kubelet -----------------------------------------------------------------------
printf 'nameserver 127.0.0.1\n' >"$STATE/resolv.conf"   # pods get no outside DNS
cat >"$STATE/kubelet-config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: "$PKI/ca.crt"}
authorization: {mode: AlwaysAllow}
tlsCertFile: "$PKI/kubelet-serving.crt"
tlsPrivateKeyFile: "$PKI/kubelet-serving.key"
containerRuntimeEndpoint: "unix://$CTRD_SOCK"
cgroupDriver: cgroupfs
failSwapOn: false
failCgroupV1: false
resolvConf: "$STATE/resolv.conf"
clusterDomain: cluster.local
podLogsDir: "$STATE/pod-logs"
volumePluginDir: "$STATE/kubelet-plugins"
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
# Never garbage-collect the imported Kaniko/pause images.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
makeIPTablesUtilChains: false
rotateCertificates: false
YAML
start_daemon kubelet "$K8S_BIN/kubelet" --config="$STATE/kubelet-config.yaml" \
  --kubeconfig="$PKI/kubelet.kubeconfig" --root-dir="$KUBELET_DIR" \
  --hostname-override=localhost --node-ip="$GATEWAY_IP"

node_ready() {
  [ "$(kubectl_admin get node localhost -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
wait_for "node localhost Ready" 120 node_ready
wait_for "ServiceAccount default/default" 60 kubectl_admin -n default get serviceaccount default

# --- build namespace: baseline, the registry CA, and the worker's least-privilege Role --------
WORKER_KUBECONFIG=$("$LOCALKUBE_DIR/namespace" "$NAMESPACE")

cat >"$ENV_FILE" <<ENV
# Written by dev/localkube/up; source it: . $ENV_FILE
export KUBECONFIG=$KUBECONFIG_ADMIN
export LOCALKUBE_WORKER_KUBECONFIG=$WORKER_KUBECONFIG
export LOCALKUBE_REGISTRY=$REGISTRY
export LOCALKUBE_REGISTRY_CA=$PKI/registry-ca.crt
export LOCALKUBE_REGISTRY_CREDENTIALS=$CRED_JSON
export LOCALKUBE_DOCKER_CONFIG=$DOCKER_CONFIG_JSON
export LOCALKUBE_NAMESPACE=$NAMESPACE
export LOCALKUBE_CA_CONFIGMAP=$CA_CONFIGMAP
export LOCALKUBE_BASE_IMAGE=$REGISTRY/library/busybox:latest
ENV
"$LOCALKUBE_DIR/push-executor.sh"   # and its lines in the env file
