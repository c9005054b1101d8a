"""The few calls the benchmarks' set-up scripts make against a running
jobcastd: an HS256 token for any role, and one JSON request."""
import base64, hashlib, hmac, json, time, urllib.request


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(secret: str, role: str, sub: str) -> str:
    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps({"sub": sub, "role": role, "rooms": ["*"], "iat": now,
                              "exp": now + 86400}).encode())
    signing_input = f"{header}.{payload}".encode()
    sig = b64(hmac.new(secret.encode(), signing_input, hashlib.sha256).digest())
    return f"{header}.{payload}.{sig}"


def call(base, method, path, bearer, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + "/api/v1" + path, data=data, method=method)
    req.add_header("authorization", "Bearer " + bearer)
    if data is not None:
        req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read() or b"null")
