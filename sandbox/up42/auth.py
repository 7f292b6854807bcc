"""UP42 login: the password grant gives signed bearer tokens (JWT, HS256) that expire on the real clock.

Each sandbox account (an API key) is one UP42 user with one workspace: user name the key or its e-mail
(`<key>@sandbox.example.com`), password the key. Tokens expire on wall-clock time, not simulated time,
because a client computes the expiry from `expires_in` with its own clock; they are signed with a secret
drawn from the seed, so they survive a restart of the sandbox and a reset.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any, Dict, Optional, Tuple

from sandbox.accounts import Account
from sandbox.errors import ApiError
from sandbox.simulation import Simulation

TOKEN_LIFETIME = 300  # seconds; Keycloak's default access-token lifespan, what UP42's realm answers
SETTINGS_KIND = "up42.setting"
_NAMESPACE = uuid.UUID("6f1c2a8e-2b9d-4a51-9d3b-0c7e5a4f1e20")


def workspace_id(account: Account) -> str:
    """The account's one workspace: stable across restarts (derived from the key)."""
    return str(uuid.uuid5(_NAMESPACE, "workspace:" + account.api_key))


def account_id(account: Account) -> str:
    return str(uuid.uuid5(_NAMESPACE, "account:" + account.api_key))


def credentials(account: Account) -> Dict[str, str]:
    """What the sandbox accepts at the token endpoint for this account (listed by GET /sandbox/up42/accounts)."""
    return {"username": account.created_by, "password": account.api_key, "workspace_id": workspace_id(account),
            "account_id": account_id(account)}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def problem(status: int, title: str, detail: str, headers: Optional[Dict[str, str]] = None) -> ApiError:
    """UP42's v2 error answers: RFC 7807 problem details."""
    return ApiError(status, {"type": "about:blank", "title": title, "status": status, "detail": detail}, headers)


def unauthorized(detail: str) -> ApiError:
    return problem(401, "Unauthorized", detail, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


class Tokens:
    """Issues and checks the bearer tokens of every account."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        self._secret = hashlib.sha256(f"up42-sandbox:{sim.seed}".encode()).digest()
        self.clock = time.time  # the wall clock, not the simulated one (see the module docstring)

    def _setting(self, name: str, default: float) -> float:
        stored = self.sim.store.get(SETTINGS_KIND, name)
        return stored["value"] if stored else default

    def set_setting(self, name: str, value: float) -> None:
        stored = self.sim.store.get(SETTINGS_KIND, name)
        if stored is None:
            stored = self.sim.store.add(SETTINGS_KIND, {"id": name})
        stored["value"] = value
        self.sim.store.touch(SETTINGS_KIND, stored)

    @property
    def lifetime(self) -> int:
        return int(self._setting("token-lifetime", TOKEN_LIFETIME))

    def login(self, form: Any) -> Tuple[int, Dict[str, Any], Dict[str, str]]:
        """POST .../openid-connect/token with the password grant (a form), answered as Keycloak answers it."""
        if not isinstance(form, dict):
            raise ApiError(400, {"error": "invalid_request", "error_description": "Missing form parameter: grant_type"})
        grant = form.get("grant_type")
        if not grant:
            raise ApiError(400, {"error": "invalid_request", "error_description": "Missing form parameter: grant_type"})
        if grant != "password":
            raise ApiError(400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"})
        if not form.get("client_id"):
            raise ApiError(401, {"error": "invalid_client", "error_description": "Invalid client or Invalid client credentials"})
        account = self._account_for(str(form.get("username") or ""))
        if account is None or form.get("password") != account.api_key:
            raise ApiError(401, {"error": "invalid_grant", "error_description": "Invalid user credentials"})
        issued = self.clock()
        lifetime = self.lifetime
        claims = {"sub": workspace_id(account), "preferred_username": account.created_by,
                  "email": account.created_by, "azp": form.get("client_id"), "scope": form.get("scope") or "openid",
                  "iat": int(issued), "auth_time": issued, "exp": int(issued) + lifetime, "jti": str(uuid.uuid4()),
                  "typ": "Bearer"}
        token = self._sign(claims)
        return 200, {"access_token": token, "expires_in": lifetime, "refresh_expires_in": 0,
                     "token_type": "Bearer", "not-before-policy": 0, "scope": claims["scope"]}, {
                         "Cache-Control": "no-store", "Pragma": "no-cache"}

    def _account_for(self, username: str) -> Optional[Account]:
        for account in self.sim.accounts.values():
            if username in (account.api_key, account.created_by):
                return account
        return None

    def _sign(self, claims: Dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    def account(self, authorization: Optional[str]) -> Account:
        """The account a `Authorization: Bearer <token>` header names; 401 for a missing, bad or expired token."""
        if not authorization:
            raise unauthorized("Full authentication is required to access this resource")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or token.count(".") != 2:
            raise unauthorized("Bearer token is missing or malformed")
        header, payload, signature = token.strip().split(".")
        expected = hmac.new(self._secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        try:
            valid = hmac.compare_digest(_unb64(signature), expected)
            claims = json.loads(_unb64(payload))
        except (ValueError, TypeError):
            raise unauthorized("Bearer token is missing or malformed") from None
        if not valid or not isinstance(claims, dict):
            raise unauthorized("Invalid token signature")
        now = self.clock()
        if claims.get("exp", 0) <= now or claims.get("auth_time", 0) < self._setting("not-before", 0):
            raise unauthorized("Jwt expired")
        account = next((a for a in self.sim.accounts.values() if workspace_id(a) == claims.get("sub")), None)
        if account is None:
            raise unauthorized("Unknown user")
        return account

    def expire_all(self) -> None:
        """Every token issued so far stops working (a test of a client's refresh after a 401)."""
        self.set_setting("not-before", self.clock())
