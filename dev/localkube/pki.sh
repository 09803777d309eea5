#!/usr/bin/env bash
# Make a fresh PKI in $STATE/pki: a cluster CA with the apiserver, kubelet and
# client certificates plus kubeconfigs; a separate registry CA with the
# registry's server certificate (SAN = bridge gateway IP); the service-account
# signing key. Everything is regenerated on each `up`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$PKI"
chmod 0700 "$PKI"
cd "$PKI"
umask 077

new_ca() { # NAME CN
  openssl ecparam -name prime256v1 -genkey -noout -out "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days 3650 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$1.crt" 2>/dev/null
}

# issue CA NAME SUBJECT USAGE [SAN]: USAGE is serverAuth, clientAuth or both.
issue() {
  local ca="$1" name="$2" subj="$3" usage="$4" san="${5:-}" ext
  openssl ecparam -name prime256v1 -genkey -noout -out "$name.key"
  openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null
  ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$usage"
  [ -n "$san" ] && ext+="
subjectAltName=$san"
  openssl x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial \
    -days 825 -sha256 -extfile <(printf '%s\n' "$ext") -out "$name.crt" 2>/dev/null
  rm -f "$name.csr"
}

kubeconfig() { # NAME CERT USER
  cat >"$1.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: localkube
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 ca.crt)
users:
- name: $3
  user:
    client-certificate-data: $(base64 -w0 "$2.crt")
    client-key-data: $(base64 -w0 "$2.key")
contexts:
- name: localkube
  context: {cluster: localkube, user: $3}
current-context: localkube
KC
}

log "generating PKI in $PKI"
new_ca ca "localkube-ca"
issue ca apiserver "/CN=kube-apiserver" serverAuth \
  "IP:127.0.0.1,IP:${SERVICE_CIDR%.0/*}.1,IP:$GATEWAY_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
issue ca apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
issue ca admin "/O=system:masters/CN=localkube-admin" clientAuth
issue ca controller-manager "/CN=system:kube-controller-manager" clientAuth
issue ca scheduler "/CN=system:kube-scheduler" clientAuth
issue ca kubelet-client "/O=system:nodes/CN=system:node:localhost" clientAuth
issue ca kubelet-serving "/CN=localhost" serverAuth "DNS:localhost,IP:127.0.0.1"
kubeconfig admin admin localkube-admin
kubeconfig controller-manager controller-manager system:kube-controller-manager
kubeconfig scheduler scheduler system:kube-scheduler
kubeconfig kubelet kubelet-client system:node:localhost

# Service-account tokens (RS256).
openssl genrsa -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null

new_ca registry-ca "localkube-registry-ca"
issue registry-ca registry "/CN=$GATEWAY_IP" serverAuth "IP:$GATEWAY_IP,DNS:localhost"
# Public material is readable: pods mount the registry CA; tests read ca.crt.
chmod 0644 ca.crt registry-ca.crt
chmod 0711 "$PKI"
log "PKI ready"
