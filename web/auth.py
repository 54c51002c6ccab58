"""Who is asking: sign-in with sessions kept on the server, API bearer tokens, decorators.

Sessions. The signed cookie holds only a random token (and Flask-WTF's CSRF secret); the
``web_sessions`` table holds the token's sha256, the user, when it began and when it was last
used. Signing in clears the cookie and issues a new token (no session fixation: the cookie
before sign-in never becomes a signed-in one); signing out, 30 minutes idle or 12 hours in
all delete the row, so a copied cookie stops working everywhere at once.

Rate limit. Failed sign-ins are rows in ``login_failures`` keyed by client address and by
username; five of either in five minutes answer 429 until the window passes. The counter is
in the database, so every gunicorn worker (and every host sharing the database) sees the
same count; an in-memory limiter would give each worker its own allowance. Behind a reverse
proxy set ``RECTIFY_PROXY_FIX`` so the client address is the real one.

API. ``Authorization: Bearer <token>`` (made by ``rectify token create USER``); the
``api_tokens`` table holds only the token's sha256. A bad token is a 401, never a fallback to
the cookie.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from dataclasses import dataclass, field
from functools import wraps

from flask import Blueprint, Flask, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext, lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import delete, insert, select, update
from werkzeug.local import LocalProxy
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from workflow import db as wdb, loading, passwords, spec
from workflow.errors import NotFound
from workflow.models import ApiToken, LoginFailure, OrgUnit, User, WebSession

from . import db, i18n, now
from .errors import ApiError, wants_json
from .security import safe_next

TOUCH_EVERY = dt.timedelta(seconds=60)  # last_seen is refreshed at most this often
WS = WebSession.__table__
LF = LoginFailure.__table__


# --- the user of a request ------------------------------------------------------

@dataclass(frozen=True)
class CurrentUser:
    """The signed-in person (by session or bearer token) as pages and the API see them."""

    id: int
    username: str
    name: str
    roles: frozenset[str]
    unit: str | None
    unit_ids: frozenset[int] = frozenset()
    delegate_for: frozenset[int] = frozenset()
    via: str = "session"  # or "token"
    is_authenticated: bool = field(default=True, init=False)

    @property
    def actor(self) -> spec.Actor:
        return spec.Actor(self.id, self.username, self.roles, self.unit_ids, self.delegate_for)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    @property
    def sees_everything(self) -> bool:
        return bool(self.roles & {"admin", "office", "supervisor", "inspector"})


class AnonymousUser:
    is_authenticated = False
    id = None
    username = None
    name = ""
    unit = None
    roles: frozenset[str] = frozenset()
    via = None
    sees_everything = False

    def has_role(self, *roles: str) -> bool:
        return False

    @property
    def actor(self):
        raise ApiError(401, "unauthorized")


ANONYMOUS = AnonymousUser()
current_user = LocalProxy(lambda: g.get("user", ANONYMOUS))


def _build_user(conn, username: str, via: str) -> CurrentUser | None:
    try:
        actor = loading.load_actor(conn, username)
    except NotFound:
        return None
    row = conn.execute(select(User.name, OrgUnit.name.label("unit")).outerjoin(OrgUnit, OrgUnit.id == User.unit_id)
                       .where(User.id == actor.id)).one()
    return CurrentUser(actor.id, actor.username, row.name, actor.roles, row.unit, actor.unit_ids,
                       actor.delegate_for, via)


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def user_from_token(header: str) -> CurrentUser | None:
    """The user of an ``Authorization: Bearer`` header, or None if it is not a live token."""
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return None
    with wdb.read_tx(db()) as conn:
        username = conn.execute(
            select(User.username).join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == _sha(token), ApiToken.revoked.is_(False), User.active.is_(True))
        ).scalar()
        if username is None or username == "system":
            return None
        return _build_user(conn, username, "token")


def _user_from_session(sid: str) -> CurrentUser | None:
    t = now()
    cfg = _app_config()
    key = _sha(sid)
    with wdb.read_tx(db()) as conn:
        row = conn.execute(select(WS.c.created_at, WS.c.last_seen_at, User.username, User.active)
                           .join(User, User.id == WS.c.user_id).where(WS.c.id == key)).first()
        user = None
        fresh = (row is not None and row.active and t - row.last_seen_at <= cfg["RECTIFY_IDLE_TIMEOUT"]
                 and t - row.created_at <= cfg["RECTIFY_ABSOLUTE_TIMEOUT"])
        if fresh:
            user = _build_user(conn, row.username, "session")
    if row is not None and (not fresh or user is None):
        with wdb.write_tx(db()) as conn:
            conn.execute(delete(WS).where(WS.c.id == key))
    elif user is not None and t - row.last_seen_at >= TOUCH_EVERY:
        with wdb.write_tx(db()) as conn:
            conn.execute(update(WS).where(WS.c.id == key).values(last_seen_at=t))
    return user


def _app_config():
    from flask import current_app

    return current_app.config


def load_user() -> None:
    """Resolve ``current_user`` for this request (runs before every view)."""
    g.user = ANONYMOUS
    if request.endpoint == "static":
        return
    header = request.headers.get("Authorization")
    if header is not None and request.path.startswith("/api/"):
        user = user_from_token(header)
        if user is None:
            g.auth_error = "invalid_token"
        else:
            g.user = user
        return
    sid = session.get("sid")
    if not isinstance(sid, str) or not sid:
        return
    user = _user_from_session(sid)
    if user is None:
        session.clear()
        g.session_expired = True
        return
    g.user = user


# --- starting and ending sessions ----------------------------------------------------

def start_session(user_id: int) -> None:
    """Sign ``user_id`` in: a new server-side session and a new cookie (the old one is void)."""
    t = now()
    cfg = _app_config()
    token = secrets.token_urlsafe(32)
    old = session.get("sid")
    with wdb.write_tx(db()) as conn:
        conn.execute(delete(WS).where((WS.c.last_seen_at < t - cfg["RECTIFY_IDLE_TIMEOUT"])
                                      | (WS.c.created_at < t - cfg["RECTIFY_ABSOLUTE_TIMEOUT"])))
        if isinstance(old, str) and old:
            conn.execute(delete(WS).where(WS.c.id == _sha(old)))
        conn.execute(insert(WS), {"id": _sha(token), "user_id": user_id, "created_at": t, "last_seen_at": t})
    session.clear()
    session.permanent = False
    session["sid"] = token


def end_session() -> None:
    sid = session.get("sid")
    if isinstance(sid, str) and sid:
        with wdb.write_tx(db()) as conn:
            conn.execute(delete(WS).where(WS.c.id == _sha(sid)))
    session.clear()


# --- the sign-in rate limit -------------------------------------------------------

def _keys(ip: str, username: str) -> list[str]:
    keys = [f"ip:{ip}"[:200]]
    if username:
        keys.append(f"user:{username.lower()}"[:200])
    return keys


def retry_after(ip: str, username: str) -> int:
    """Seconds until another attempt is allowed (0: allowed now)."""
    cfg = _app_config()
    t, window, limit = now(), cfg["RECTIFY_LOGIN_WINDOW"], int(cfg["RECTIFY_LOGIN_MAX_FAILURES"])
    wait = 0.0
    with wdb.read_tx(db()) as conn:
        for key in _keys(ip, username):
            times = [r[0] for r in conn.execute(
                select(LF.c.at).where(LF.c.key == key, LF.c.at > t - window).order_by(LF.c.at.desc()).limit(limit))]
            if len(times) >= limit:
                wait = max(wait, (times[-1] + window - t).total_seconds())
    return max(0, math.ceil(wait))


def record_failure(ip: str, username: str) -> None:
    t = now()
    with wdb.write_tx(db()) as conn:
        conn.execute(delete(LF).where(LF.c.at < t - _app_config()["RECTIFY_LOGIN_WINDOW"]))
        conn.execute(insert(LF), [{"key": k, "at": t} for k in _keys(ip, username)])


def clear_failures(username: str) -> None:
    with wdb.write_tx(db()) as conn:
        conn.execute(delete(LF).where(LF.c.key == f"user:{username.lower()}"[:200]))


_DUMMY_HASH: list[str] = []


def check_credentials(username: str, password: str) -> int | None:
    """The user id if ``username`` may sign in with ``password``; None otherwise.

    An unknown name costs one password hash as well, so timing does not reveal who exists.
    """
    with wdb.read_tx(db()) as conn:
        row = conn.execute(select(User.id, User.password_hash, User.active)
                           .where(User.username == username, User.username != "system")).first()
    if row is None or not row.password_hash or not row.active:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(passwords.hash_password(secrets.token_hex(16)))
        passwords.check_password(_DUMMY_HASH[0], password)
        return None
    return row.id if passwords.check_password(row.password_hash, password) else None


# --- decorators --------------------------------------------------------------------

def login_required(view):
    """Pages: anonymous visitors go to the sign-in page; API: 401."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            if wants_json():
                raise ApiError(401, "unauthorized", headers={"WWW-Authenticate": "Bearer"})
            if g.get("session_expired"):
                flash(gettext("登录已超时，请重新登录"), "info")
            target = request.full_path if request.query_string else request.path
            return redirect(url_for("auth.login", next=target))
        return view(*args, **kwargs)

    return wrapped


def roles_required(*roles: str):
    """Signed in and holding at least one of ``roles``; otherwise 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if current_user.is_authenticated and not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return login_required(wrapped)

    return decorator


# --- the sign-in page -------------------------------------------------------------

class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    target = safe_next(request.values.get("next"))
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(target)
    error, status, headers = None, 200, {}
    if request.method == "POST":
        username = (form.username.data or "").strip()
        ip = request.remote_addr or "-"
        wait = retry_after(ip, username)
        if wait:
            error = i18n.message("login_rate_limited", minutes=max(1, math.ceil(wait / 60)))
            status, headers = 429, {"Retry-After": str(wait)}
        elif form.validate_on_submit():
            user_id = check_credentials(username, form.password.data)
            if user_id is not None:
                start_session(user_id)
                clear_failures(username)
                return redirect(target)
            record_failure(ip, username)
            error = gettext("用户名或密码错误")
        else:
            error = gettext("请输入用户名和密码")
    form.next.data = target
    return render_template("login.html", form=form, error=error), status, headers


@bp.route("/logout", methods=["POST"])
def logout():
    end_session()
    flash(gettext("您已退出登录"), "info")
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    app.before_request(load_user)
    app.register_blueprint(bp)

    @app.context_processor
    def _user_context():
        return {"current_user": current_user}
