"""An application backend for dotmac-ws in Python's standard library only: it answers the
gateway's proxy (connect, refresh, subscribe, publish, RPC) and receives its webhooks, verifying
the signature of every request. Start: APP_SECRET=... python3 examples/app-backend-python/app.py
"""
import hashlib
import hmac
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ.get("APP_SECRET", "change-me-to-16-chars-or-more").encode()
PORT = int(os.environ.get("PORT", "8000"))
# Stands in for the application's own sessions (a cookie `sid` names one).
SESSIONS = {"alice-session": {"user": "alice", "roles": ["admin"]}, "bob-session": {"user": "bob", "roles": []}}


def verified(headers, body: bytes) -> bool:
    ts = headers.get("X-Dotmac-Timestamp", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
        return False
    mac = hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("sha256=" + mac, headers.get("X-Dotmac-Signature", ""))


def connect(r):
    sid = r["cookies"].get("sid")
    if sid is None:
        return {"result": {}}  # anonymous
    s = SESSIONS.get(sid)
    if s is None:
        return {"error": {"code": "unknown_session", "message": "log in again"}}
    return {"result": {"user": s["user"], "roles": s["roles"], "channels": ["user:" + s["user"]],
                       "info": {"name": s["user"]}, "expires_at": int(time.time()) + 3600}}


def subscribe(r):
    if r["channel"].startswith("admin:") and "admin" not in r["roles"]:
        return {"error": {"code": "forbidden", "message": "admins only"}}
    return {"result": {}}


def rpc(r):
    if r["method"] == "whoami":
        return {"result": {"data": {"user": r["user_id"]}}}
    return {"error": {"code": "unknown_method", "message": r["method"]}}


def webhooks(r):
    for e in r["events"]:
        print("webhook", e["name"], e.get("channel") or e.get("session_id"), e["id"], flush=True)
    return {}


ROUTES = {
    "/connect": connect,
    "/refresh": lambda r: {"result": {"expires_at": int(time.time()) + 3600}},
    "/subscribe": subscribe,
    "/publish": lambda r: {"result": {"data": {"text": str((r["data"] or {}).get("text", "")).strip(),
                                                "by": r["user_id"]}}},
    "/rpc": rpc,
    "/webhooks": webhooks,
}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        route = ROUTES.get(self.path)
        status = 404 if route is None else 200 if verified(self.headers, body) else 401
        answer = route(json.loads(body)) if status == 200 else {"error": {"code": "refused", "message": f"HTTP {status}"}}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass  # quiet: only webhook lines are printed


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    print(f"app backend listening on http://127.0.0.1:{PORT}", flush=True)
    server.serve_forever()
