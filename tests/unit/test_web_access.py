"""Every route checks login and role; CSRF on every POST; security headers; safe login redirects."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from werkzeug.routing import AnyConverter, IntegerConverter, Rule

from tests.unit.web_fixtures import PASSWORD, add_user, csrf_token, login, make_app
from web.security import ROLES, view_roles

MINE = ("auth", "care", "customers", "cases", "admin", "marketing")


def _url(app: Flask, rule: Rule) -> str:
    values: dict[str, object] = {}
    for name, conv in rule._converters.items():
        if isinstance(conv, AnyConverter):
            values[name] = sorted(conv.items)[0]
        elif isinstance(conv, IntegerConverter):
            values[name] = 1
        else:
            values[name] = "x"
    with app.test_request_context():
        return app.url_map.bind("localhost").build(rule.endpoint, values)


def _routes(app: Flask) -> list[tuple[Rule, str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule, method, _url(app, rule)))
    return found


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    app = make_app(tmp_path, WTF_CSRF_ENABLED=False)  # this file's route sweep tests access, not CSRF
    for role in ROLES:
        add_user(app, role, role)
    return app


def test_every_view_declares_its_roles_or_is_public(app: Flask) -> None:
    undeclared = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and view_roles(app.view_functions[rule.endpoint]) == frozenset()
    ]
    assert undeclared == []
    public = sorted(
        r.endpoint
        for r in app.url_map.iter_rules()
        if r.endpoint != "static" and view_roles(app.view_functions[r.endpoint]) is None
    )
    # act_on_link checks a signed token; operator.metrics answers loopback or an admin only (web/operator.py)
    assert set(public) <= {"auth.login", "healthz", "oncall.act_on_link", "operator.metrics"}


def test_anonymous_requests_are_refused_everywhere_but_public_views(app: Flask) -> None:
    client = app.test_client()
    checked = 0
    for rule, method, url in _routes(app):
        if view_roles(app.view_functions[rule.endpoint]) is None:
            continue
        resp = client.open(url, method=method)
        assert resp.status_code in (302, 401), f"{method} {url} answered {resp.status_code}"
        if resp.status_code == 302:
            assert resp.headers["Location"].startswith("/login"), url
        checked += 1
    assert checked > 20


def test_each_role_is_refused_where_it_does_not_belong(app: Flask) -> None:
    for role in ROLES:
        client = app.test_client()
        login(client, role)
        for rule, method, url in _routes(app):
            allowed = view_roles(app.view_functions[rule.endpoint])
            if allowed is None or rule.endpoint == "auth.logout":
                continue
            if role in allowed and rule.endpoint.split(".")[0] not in MINE:
                continue  # other areas' views need their engines; their own tests run them
            resp = client.open(url, method=method)
            if role not in allowed:
                assert resp.status_code == 403, f"{role} {method} {url} answered {resp.status_code}"
            elif rule.endpoint.split(".")[0] in MINE:
                assert resp.status_code not in (401, 403), f"{role} refused at {method} {url}"


def test_an_agent_cannot_open_admin_pages(app: Flask) -> None:
    client = app.test_client()
    login(client, "agent")
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin/audit").status_code == 403
    assert client.post("/admin/users", data={"username": "x", "role": "admin", "password": "p" * 20}).status_code == 403


def test_post_without_csrf_token_is_refused(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    add_user(app, "ana", "agent")
    client = app.test_client()
    token = csrf_token(client)
    assert client.post("/login", data={"username": "ana", "password": PASSWORD}).status_code == 400
    assert client.post("/login", data={"username": "ana", "password": PASSWORD, "csrf_token": token}).status_code == 302
    assert client.post("/mentions/m:1/take", json={}).status_code == 400  # no X-CSRFToken header
    assert client.post("/customers/", data={"loyalty_id": "AB123456", "name": "x", "tier": "gold"}).status_code == 400


def test_wrong_password_and_unknown_name_look_the_same(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    add_user(app, "ana", "agent")
    client = app.test_client()
    token = csrf_token(client)
    a = client.post("/login", data={"username": "ana", "password": "wrong-password!", "csrf_token": token})
    b = client.post("/login", data={"username": "bob", "password": "wrong-password!", "csrf_token": token})
    assert a.status_code == b.status_code == 200
    assert "Wrong name or password." in a.get_data(as_text=True)
    assert "Wrong name or password." in b.get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(tmp_path: Path, target: str) -> None:
    app = make_app(tmp_path)
    add_user(app, "ana", "agent")
    client = app.test_client()
    token = csrf_token(client)
    resp = client.post("/login?next=" + target, data={"username": "ana", "password": PASSWORD, "csrf_token": token})
    assert resp.headers["Location"] == "/"


def test_security_headers_and_cookie_flags(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    add_user(app, "ana", "agent")
    client = app.test_client()
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    token = csrf_token(client)
    resp = client.post("/login", data={"username": "ana", "password": PASSWORD, "csrf_token": token})
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secure_cookie_flag_follows_the_setting(tmp_path: Path) -> None:
    from infra.settings import Settings
    from web import create_app

    settings = Settings(
        runtime_dir=tmp_path, secret_key="k", database_url=f"sqlite:///{tmp_path}/s.db", secure_cookies=True
    )
    app = create_app(settings, TESTING=True, START_FEED=False)
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_a_page_that_needs_search_says_so_while_elasticsearch_is_down(app: Flask) -> None:
    client = app.test_client()
    login(client, "marketing")
    resp = client.get("/marketing/")
    assert resp.status_code == 503
    assert b"Search is unavailable right now" in resp.data and b"nothing is lost" in resp.data
