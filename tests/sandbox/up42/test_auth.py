"""UP42 login: the password grant, userinfo's workspace, bearer tokens that expire, one workspace per account."""

from __future__ import annotations

import base64
import json
import time
import urllib.error

import requests

from tests.sandbox.up42.helpers import TOKEN_PATH, USERINFO_PATH, Up42


def login(sandbox, **form):
    fields = {"grant_type": "password", "username": sandbox.api_key, "password": sandbox.api_key,
              "client_id": "up42-sdk", "scope": "openid"}
    fields.update(form)
    return requests.post(sandbox.root + TOKEN_PATH, data={k: v for k, v in fields.items() if v is not None},
                         timeout=30)


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_the_password_grant_answers_a_token_that_lasts_well_over_30_seconds(sandbox):
    answer = login(sandbox)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["expires_in"] == 300 and body["token_type"] == "Bearer"
    assert claims(body["access_token"])["exp"] - time.time() > 290


def test_the_email_is_a_user_name_too(sandbox):
    accounts = sandbox.control("GET", "up42/accounts")["accounts"]
    mine = next(a for a in accounts if a["password"] == sandbox.api_key)
    assert mine["username"] == f"{sandbox.api_key}@sandbox.example.com"
    answer = login(sandbox, username=mine["username"], password=mine["password"])
    assert answer.status_code == 200
    assert claims(answer.json()["access_token"])["sub"] == mine["workspace_id"]


def test_wrong_credentials_and_forms_are_refused_as_keycloak_refuses_them(sandbox):
    wrong = login(sandbox, password="not-it")
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "invalid_grant", "error_description": "Invalid user credentials"}
    assert login(sandbox, username="nobody@example.com").status_code == 401
    assert login(sandbox, grant_type="client_credentials").json()["error"] == "unsupported_grant_type"
    assert login(sandbox, grant_type=None).status_code == 400
    assert login(sandbox, client_id=None).json()["error"] == "invalid_client"
    assert requests.get(sandbox.root + TOKEN_PATH, timeout=30).status_code == 405
    assert requests.post(sandbox.root + "/realms/other/protocol/openid-connect/token", timeout=30).status_code == 404


def test_userinfo_names_the_workspace_and_accounts_are_separate_workspaces(sandbox, up42, other_up42):
    info = up42.get(USERINFO_PATH).json()
    assert info["sub"] == up42.workspace
    assert up42.workspace != other_up42.workspace
    # Stable: a new login of the same account finds the same workspace.
    assert Up42(sandbox.root, sandbox.api_key).workspace == up42.workspace


def test_calls_without_a_valid_token_get_401(sandbox, up42):
    bare = requests.get(sandbox.root + "/v2/orders", timeout=30)
    assert bare.status_code == 401 and bare.json()["status"] == 401
    assert "Bearer" in bare.headers["WWW-Authenticate"]
    junk = requests.get(sandbox.root + "/v2/orders", headers={"Authorization": "Bearer abc"}, timeout=30)
    assert junk.status_code == 401
    header, payload, signature = up42.token.split(".")
    forged_claims = dict(claims(up42.token), exp=int(time.time()) + 10 ** 6)
    forged = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).rstrip(b"=").decode()
    tampered = requests.get(sandbox.root + "/v2/orders", timeout=30,
                            headers={"Authorization": f"Bearer {header}.{forged}.{signature}"})
    assert tampered.status_code == 401
    userinfo = requests.get(sandbox.root + USERINFO_PATH, headers={"Authorization": "Bearer abc"}, timeout=30)
    assert userinfo.status_code == 401 and userinfo.json()["error"] == "invalid_token"


def test_a_token_expires_after_its_lifetime(sandbox):
    assert sandbox.control("POST", "up42/token-lifetime", {"seconds": 1}) == {"seconds": 1}
    answer = login(sandbox)
    assert answer.json()["expires_in"] == 1
    headers = {"Authorization": "Bearer " + answer.json()["access_token"]}
    assert requests.get(sandbox.root + "/v2/orders", headers=headers, timeout=30).status_code == 200
    time.sleep(1.2)
    expired = requests.get(sandbox.root + "/v2/orders", headers=headers, timeout=30)
    assert expired.status_code == 401 and expired.json()["detail"] == "Jwt expired"
    # A new login works again; a reset restores the default lifetime.
    fresh = login(sandbox).json()["access_token"]
    assert requests.get(sandbox.root + "/v2/orders", headers={"Authorization": "Bearer " + fresh},
                        timeout=30).status_code == 200
    sandbox.reset()
    assert sandbox.control("GET", "up42/token-lifetime") == {"seconds": 300}


def test_expiring_every_token_makes_clients_log_in_again(sandbox, up42):
    assert up42.get("/v2/orders").status_code == 200
    sandbox.control("POST", "up42/tokens/expire", {})
    assert up42.get("/v2/orders").status_code == 401
    again = Up42(sandbox.root, sandbox.api_key)
    assert again.get("/v2/orders").status_code == 200


def test_a_token_survives_a_reset_of_the_simulation(sandbox, up42):
    sandbox.reset()
    assert up42.get("/v2/orders").status_code == 200


def test_the_token_lifetime_control_refuses_what_is_not_a_number_of_seconds(sandbox):
    for bad in ({"seconds": 0}, {"seconds": "60"}, {"seconds": True}, {}):
        try:
            sandbox.control("POST", "up42/token-lifetime", bad)
            raise AssertionError(f"{bad} should be refused")
        except urllib.error.HTTPError as error:
            assert error.code == 400
    assert sandbox.control("GET", "up42/token-lifetime") == {"seconds": 300}
