#!/usr/bin/env bash
# Makes a CA and the agents' TLS certificate (name tetrascope-agent, which `tetrascope --kube`
# checks) and stores both in the Secret tetrascope/tetrascope-agent-tls. Keep ca.key safe, or
# delete it: only ca.crt is needed afterwards.
set -euo pipefail
dir=${1:-tetrascope-tls}
mkdir -p "$dir" && cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
    -keyout ca.key -out ca.crt -subj /CN=tetrascope-ca
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout tls.key -out tls.csr -subj /CN=tetrascope-agent
printf 'subjectAltName=DNS:tetrascope-agent\n' > tls.ext
openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
    -extfile tls.ext -out tls.crt
kubectl -n tetrascope create secret generic tetrascope-agent-tls \
    --from-file=tls.crt --from-file=tls.key --from-file=ca.crt \
    --dry-run=client -o yaml | kubectl apply -f -
