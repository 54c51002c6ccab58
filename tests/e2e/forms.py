"""Helpers for page tests that sign in, post forms with their CSRF token and upload files."""
from __future__ import annotations

import io
import re

TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')


def signed_in(site, username: str):
    """A test client signed in as ``username`` through the real form."""
    client = site.app.test_client()
    r = site.login(client, username)
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    return client


def token(client, path: str) -> str:
    m = TOKEN_RE.search(client.get(path).get_data(as_text=True))
    assert m, f"no CSRF token on {path}"
    return m.group(1) or m.group(2)


def post(client, path: str, data: dict | None = None, csrf_from: str = "/ledger", **kw):
    return client.post(path, data={**(data or {}), "csrf_token": token(client, csrf_from)}, **kw)


def upload(client, name: str, content: bytes, path: str = "/imports"):
    """Upload a file on the import page; the response (not followed)."""
    data = {"file": (io.BytesIO(content), name), "csrf_token": token(client, path)}
    return client.post(path, data=data, content_type="multipart/form-data")


def text(response) -> str:
    return response.get_data(as_text=True)
