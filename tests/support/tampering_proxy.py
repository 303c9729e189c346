"""A tampering proxy between the portal and a real OpenID provider, for the refusals a real
provider will not mint: it stands in as the issuer, forwards the code exchange to the
provider, and hands back the provider's ID token changed one way and signed again with a
key of its own, which it publishes. Usage:

    tampering_proxy.py UPSTREAM PORT MODE

MODE is one of: none (only re-signed), issuer, audience, expired, no-nonce, bad-signature
(signed with a key it does not publish, under the provider's key ID). Prints "ready".
"""

import base64
import json
import sys
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from joserfc import jwt
from joserfc.jwk import RSAKey

UPSTREAM, PORT, MODE = sys.argv[1].rstrip("/"), int(sys.argv[2]), sys.argv[3]
ME = f"http://127.0.0.1:{PORT}"
KEY = RSAKey.generate_key(2048, parameters={"kid": "proxy-key"})
# Unpublished, for bad-signature: same key ID as the one published.
ROGUE = RSAKey.generate_key(2048, parameters={"kid": "proxy-key"})


def upstream(path, data=None, headers=None):
    request = urllib.request.Request(UPSTREAM + path, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return answer.status, answer.read()


def tamper(claims):
    claims["iss"] = ME
    if MODE == "issuer":
        claims["iss"] = "http://127.0.0.1:1/another-issuer"
    elif MODE == "audience":
        claims["aud"] = "another-service"
    elif MODE == "expired":
        claims["iat"] = int(time.time()) - 3600
        claims["exp"] = int(time.time()) - 1800
    elif MODE == "no-nonce":
        claims.pop("nonce", None)
    return claims


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/.well-known/openid-configuration":
            _, body = upstream(self.path)
            config = json.loads(body)
            config["issuer"] = ME
            config["token_endpoint"] = ME + "/token"
            config["jwks_uri"] = ME + "/jwks"
            # The person still signs in at the provider itself.
            self.send(200, json.dumps(config).encode())
        elif self.path == "/jwks":
            self.send(200, json.dumps({"keys": [KEY.as_dict(private=False)]}).encode())
        else:
            self.send(404, b"{}")

    def do_POST(self):
        if self.path != "/token":
            self.send(404, b"{}")
            return
        length = int(self.headers.get("content-length", "0"))
        data = self.rfile.read(length)
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type", "accept")}
        try:
            status, body = upstream("/oauth2/token", data, headers)
        except urllib.error.HTTPError as error:
            self.send(error.code, error.read())
            return
        answer = json.loads(body)
        token = answer.get("id_token")
        if token:
            # The provider's claims, read without checking: it is the proxy's to change.
            payload = token.split(".")[1]
            payload += "=" * (-len(payload) % 4)
            claims = tamper(json.loads(base64.urlsafe_b64decode(payload)))
            signer = ROGUE if MODE == "bad-signature" else KEY
            answer["id_token"] = jwt.encode({"alg": "RS256", "kid": "proxy-key"}, claims, signer)
        self.send(status, json.dumps(answer).encode())


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print("ready", flush=True)
server.serve_forever()
