#!/usr/bin/env python3
"""Prepares a running jobcastd for the apply benchmark: a verified employer, a
live room with JOBS job cards, USERS jobseekers with profiles. Writes
targets.txt: one line per jobseeker token, preceded by the room id and job ids.

usage: setup.py BASE_URL SECRET USERS JOBS OUT_FILE
"""
import base64, hashlib, hmac, json, sys, time, urllib.request


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


def main():
    base, secret, users, jobs, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    admin = token(secret, "admin", "bench-admin")
    call(base, "POST", "/employers", admin, {"id": "bench-co", "name": "Bench Co"})
    call(base, "POST", "/employers/bench-co/verify", admin)
    room = call(base, "POST", "/rooms", admin, {"title": "Bench fair", "employer_id": "bench-co",
                                                 "region_code": "150100", "scheduled_at": 0})
    job_ids = []
    for j in range(jobs):
        card = {"title": f"Job {j}", "wage_min": 4000, "wage_max": 6000, "wage_unit": "month",
                "hours": "8h", "location": "Hohhot", "headcount": 10}
        job_ids.append(call(base, "POST", f"/rooms/{room['id']}/jobs", admin, card)["id"])
    call(base, "POST", f"/rooms/{room['id']}/start", admin)
    tokens = []
    for u in range(users):
        t = token(secret, "jobseeker", f"bench-seeker-{u}")
        call(base, "PUT", "/me/profile", t, {"name": f"Seeker {u}", "phone": "13800138000",
                                             "cv": "bench"})
        tokens.append(t)
    with open(out, "w") as f:
        f.write(room["id"] + "\n" + " ".join(job_ids) + "\n" + "\n".join(tokens) + "\n")


if __name__ == "__main__":
    main()
