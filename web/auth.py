"""Who is asking: sign-in with sessions kept on the server, API bearer tokens, decorators.

Sessions. The signed cookie holds only a random token (and Flask-WTF's CSRF secret); the
``web_sessions`` table holds the token's sha256, the user, when it began and when it was last
used. Signing in clears the cookie and issues a new token (no session fixation: the cookie
before sign-in never becomes a signed-in one); signing out, 30 minutes idle or 12 hours in
all delete the row, so a copied cookie stops working everywhere at once.

Rate limit. Failed sign-ins are rows in ``login_failures`` keyed by (username, client address)
and by client address: five for one name from one address, or twenty from one address whatever
the names, in five minutes answer 429 until the window passes. A guesser elsewhere therefore
cannot lock anybody out. Each attempt is counted before its password is checked, in one
serialised transaction, so parallel guesses get exactly the limit. The counter is in the
database, so every gunicorn worker (and every host sharing the database) sees the same count.
Behind a reverse proxy set ``RECTIFY_PROXY_FIX`` so the client address is the real one.

Passwords. ``/account/password`` lets every signed-in person change their own (the policy of
:mod:`workflow.passwords`); a change ends every session and API token of the person, and this
browser gets a new session. Sign-ins, lockouts and password changes are security events
(:mod:`web.seclog`).

API. ``Authorization: Bearer <token>`` (made by ``rectify token create USER``); the
``api_tokens`` table holds only the token's sha256. A bad token is a 401, never a fallback to
the cookie.

The stores themselves (sessions, failed sign-ins, the credential check, tokens) are
:mod:`workflow.commands.sessions` and :mod:`workflow.commands.tokens`; this module keeps the
cookie and the request's user.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import wraps

from flask import Blueprint, Flask, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext, lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.local import LocalProxy
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from workflow import passwords, spec
from workflow.commands import people, sessions, tokens
from workflow.readmodels import GLOBAL_ROLES, Identity

from . import db, i18n, now, seclog
from .errors import ApiError, wants_json
from .security import safe_next


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
        return bool(self.roles & GLOBAL_ROLES)


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


def _current(who: Identity | None, via: str) -> CurrentUser | None:
    if who is None:
        return None
    a = who.actor
    return CurrentUser(a.id, a.username, who.name, a.roles, who.unit, a.unit_ids, a.delegate_for, via)


def user_from_token(header: str) -> CurrentUser | None:
    """The user of an ``Authorization: Bearer`` header, or None if it is not a live token."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return _current(tokens.resolve(token.strip(), now=now(), engine=db()), "token")


def _timeouts() -> dict:
    cfg = current_app.config
    return {"idle": cfg["RECTIFY_IDLE_TIMEOUT"], "absolute": cfg["RECTIFY_ABSOLUTE_TIMEOUT"]}


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
    user = _current(sessions.resolve(sid, now=now(), engine=db(), **_timeouts()), "session")
    if user is None:
        session.clear()
        g.session_expired = True
        return
    g.user = user


# --- starting and ending sessions ----------------------------------------------------

def start_session(user_id: int) -> None:
    """Sign ``user_id`` in: a new server-side session and a new cookie (the old one is void)."""
    old = session.get("sid")
    token = sessions.start(user_id, now=now(), replaces=old if isinstance(old, str) and old else None,
                           engine=db(), **_timeouts())
    session.clear()
    session.permanent = False
    session["sid"] = token


def end_session() -> None:
    sid = session.get("sid")
    if isinstance(sid, str) and sid:
        sessions.end(sid, engine=db())
    session.clear()


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
        if not form.validate_on_submit():
            error = gettext("请输入用户名和密码")
        else:
            error, status, headers = _sign_in(username, form.password.data)
            if status == 302:
                return redirect(target)
    form.next.data = target
    return render_template("login.html", form=form, error=error), status, headers


def _attempt(username: str) -> sessions.Attempt:
    cfg = current_app.config
    return sessions.attempt(request.remote_addr or "-", username, now=now(), window=cfg["RECTIFY_LOGIN_WINDOW"],
                            limit=int(cfg["RECTIFY_LOGIN_MAX_FAILURES"]),
                            address_limit=int(cfg["RECTIFY_LOGIN_MAX_FAILURES_IP"]), engine=db())


def _limited(a: sessions.Attempt, username: str):
    seclog.record("lockout", "refused", actor=username, detail={"limit": a.locked, "retry_after": a.wait})
    error = i18n.message("login_rate_limited", minutes=max(1, math.ceil(a.wait / 60)))
    return error, 429, {"Retry-After": str(a.wait)}


def _sign_in(username: str, password: str):
    """(error, status, headers): 302 when signed in, 429 when the limit says wait, else 200 and why."""
    a = _attempt(username)
    if a.wait:
        return _limited(a, username)
    user_id = sessions.check_credentials(username, password, engine=db())
    if user_id is None:
        seclog.record("login", "failure", actor=username)
        return gettext("用户名或密码错误"), 200, {}
    sessions.forgive(a, request.remote_addr or "-", username, engine=db())
    start_session(user_id)
    seclog.record("login", "success", actor=username)
    return None, 302, {}


@bp.route("/logout", methods=["POST"])
def logout():
    end_session()
    flash(gettext("您已退出登录"), "info")
    return redirect(url_for("auth.login"))


class PasswordForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired(), Length(max=200)])
    new = PasswordField(_l("新密码"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(_l("再次输入新密码"), validators=[DataRequired(), Length(max=200)])


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Every signed-in person changes their own password; their other sessions and tokens end."""
    form = PasswordForm()
    error, status, headers = None, 200, {}
    if request.method == "POST":
        if not form.validate_on_submit():
            error, status = gettext("请填写当前密码和两次新密码"), 422
        elif form.new.data != form.confirm.data:
            error, status = gettext("两次输入的新密码不一致"), 422
        else:
            username = current_user.username
            a = _attempt(username)
            if a.wait:
                error, status, headers = _limited(a, username)
            else:
                try:
                    people.change_own_password(username, form.current.data, form.new.data,
                                               ip=request.remote_addr, now=now(), engine=db())
                except spec.Refused as e:
                    error, status = f"{i18n.message(e.rule)}", 422
                else:
                    sessions.forgive(a, request.remote_addr or "-", username, engine=db())
                    start_session(current_user.id)  # the others ended with the change; this browser goes on
                    flash(gettext("密码已修改；您在其他设备上的登录和所有接口令牌已失效"), "success")
                    return redirect("/")
    return render_template("account_password.html", form=form, error=error,
                           min_length=passwords.MIN_LENGTH), status, headers


def init_app(app: Flask) -> None:
    # first of all: a refusal by any later check (CSRF, say) is then logged with who was refused
    app.before_request_funcs.setdefault(None, []).insert(0, load_user)
    app.register_blueprint(bp)

    @app.context_processor
    def _user_context():
        return {"current_user": current_user}
