#!/usr/bin/env python3
"""Independent re-derivation of device_change.json from the written specification
(apdu/src/crypto/keygen.rs, signature.rs, hybrid.rs module docs), with no Rust code:
Argon2id and ChaCha20 from `cryptography`, prime search from `sympy`.

Needs: pip install cryptography sympy. Usage: python3 crosscheck.py [device_change.json]
Exits non-zero on the first mismatch.
"""
import hashlib
import json
import math
import os
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from sympy import nextprime

E = 65537
LABEL = b"vEUICC device-change v1\0"
AAD_LABEL = b"vEUICC operator profile v1\0"


def chacha20_stream(seed: bytes, n: int) -> bytes:
    # rand_chacha ChaCha20Rng::from_seed: key = seed, 64-bit counter from 0, stream 0.
    c = Cipher(algorithms.ChaCha20(seed, b"\0" * 16), mode=None).encryptor()
    return c.update(b"\0" * n)


def draw_prime(stream, other=None):
    while True:
        b = bytearray(next(stream))
        b[0] |= 0xC0
        b[-1] |= 0x01
        p = nextprime(int.from_bytes(b, "big") - 1)
        while p % E == 1:
            p = nextprime(p)
        if p.bit_length() != 1024:
            continue
        if other is not None and abs(p - other).bit_length() <= 924:
            continue
        return p


def derive_key(seed: bytes) -> rsa.RSAPrivateKey:
    raw = chacha20_stream(seed, 128 * 64)
    stream = (raw[i:i + 128] for i in range(0, len(raw), 128))
    p = draw_prime(stream)
    q = draw_prime(stream, p)
    n = p * q
    assert n.bit_length() == 2048
    d = pow(E, -1, math.lcm(p - 1, q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(E, n))
    return numbers.private_key()


def len8(b: bytes) -> bytes:
    assert len(b) < 256
    return bytes([len(b)]) + b


def check(v: dict) -> None:
    kdf = v["kdf"]
    assert kdf["algorithm"] == "argon2id"
    wire = bytes([1]) + kdf["memory_kib"].to_bytes(4, "big") + bytes([kdf["time_cost"], kdf["parallelism"]])
    assert wire.hex() == v["kdf_wire"], "kdf_wire"
    seed = Argon2id(salt=bytes.fromhex(v["salt"]), length=32, iterations=kdf["time_cost"],
                    lanes=kdf["parallelism"], memory_cost=kdf["memory_kib"]).derive(v["parameter"].encode())
    assert seed.hex() == v["seed"], "seed"
    key = derive_key(seed)
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    assert der.hex() == v["public_key_der"], "public key"
    assert hashlib.sha256(der).hexdigest() == v["public_key_sha256"], "fingerprint"
    eid = bytes.fromhex(v["eid"])
    msg = (LABEL + bytes([v["purpose"]]) + len8(bytes.fromhex(v["challenge"]))
           + len8(v["op_id"].encode()) + eid + len8(v["imei"].encode()))
    assert msg.hex() == v["message"], "message"
    sig = key.sign(msg, padding.PKCS1v15(), hashes.SHA256())
    assert sig.hex() == v["signature"], "signature"
    box = bytes.fromhex(v["sealed_box"])
    assert box[0] == 1 and int.from_bytes(box[1:3], "big") == 256
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    content_key = key.decrypt(box[3:259], oaep)
    aad = AAD_LABEL + len8(v["op_id"].encode()) + eid
    plain = AESGCM(content_key).decrypt(box[259:271], box[271:], aad)
    assert plain == v["profile_plaintext"].encode(), "sealed box"


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "device_change.json")
    with open(path) as f:
        vectors = json.load(f)["vectors"]
    for v in vectors:
        check(v)
        print(f"ok {v['name']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
