#!/bin/sh
# A fresh TLS pair for both SM-DP+ servers (P-256): a self-signed test CA and a leaf for
# testsmdpplus1.example.com signed by it. The generated DPtls of pySim expired in 2025.
set -e
cd "$(dirname "$0")"
openssl ecparam -name prime256v1 -genkey -noout -out ca.key
openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/CN=anchor-bench TLS test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out ca.pem
openssl ecparam -name prime256v1 -genkey -noout -out leaf.sec1.key
openssl pkcs8 -topk8 -nocrypt -in leaf.sec1.key -out leaf.key
openssl req -new -key leaf.key -subj "/O=ACME/CN=testsmdpplus1.example.com" -out leaf.csr
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:testsmdpplus1.example.com\n' > leaf.ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -sha256 -extfile leaf.ext -out leaf.pem
openssl verify -CAfile ca.pem leaf.pem
