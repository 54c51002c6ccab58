"""Languages: Chinese first, English on request.

The message ids are the Chinese text itself, so Chinese needs no catalogue and a string that
nobody has translated yet still reads correctly for the default audience. English lives in
``web/translations/en/LC_MESSAGES/messages.po``; the compiled ``messages.mo`` is committed
next to it (a test checks that it matches the ``.po``). After editing texts::

    .venv/bin/pybabel extract -F web/translations/babel.cfg -k lazy_gettext -k _l \\
        --no-location --sort-output -o web/translations/messages.pot web
    .venv/bin/pybabel update -i web/translations/messages.pot -d web/translations \\
        --no-fuzzy-matching -w 100
    # write the English msgstr lines, then
    .venv/bin/pybabel compile -d web/translations

The language of a request: ``?lang=en|zh`` (remembered in the ``lang`` cookie), else that
cookie, else Chinese. Pages are Chinese unless the person chose English (a browser's own
language setting is not a choice made here); API clients may ask with ``Accept-Language``.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import Flask, g, request
from flask_babel import Babel, format_datetime, get_locale, gettext, lazy_gettext as _l
from jinja2 import pass_context

from workflow import spec, vocabulary, workdays

LANGS = ("zh", "en")
DEFAULT = "zh"
COOKIE = "lang"

# --- labels of the domain's codes: the words of workflow.vocabulary, translated per request ------

def _lazy(table: dict) -> dict:
    return {k: _l(v) for k, v in table.items()}


STATE_LABELS = _lazy(vocabulary.STATE_LABELS)
TRIGGER_LABELS = _lazy({**{name: t.label for name, t in spec.TRIGGERS.items()}, **{
    k: v for k, v in vocabulary.EVENT_LABELS.items() if k not in spec.TRIGGERS}})
KIND_LABELS = _lazy(vocabulary.KIND_LABELS)
LIGHT_LABELS = _lazy(vocabulary.LIGHT_LABELS)
ROLE_LABELS = _lazy(vocabulary.ROLE_LABELS)
REOPEN_LABELS = _lazy(vocabulary.REOPEN_LABELS)
PROGRESS_LABELS = _lazy(vocabulary.PROGRESS_LABELS)
LEVEL_LABELS = _lazy(vocabulary.LEVEL_LABELS)


def _label(table: dict, code) -> str:
    value = table.get(code)
    return str(value) if value is not None else ("" if code is None else str(code))


def _labeler(table: dict):
    def label(code) -> str:
        return _label(table, code)
    return label


state_label, trigger_label, kind_label, light_label = (
    _labeler(STATE_LABELS), _labeler(TRIGGER_LABELS), _labeler(KIND_LABELS), _labeler(LIGHT_LABELS))
role_label, reopen_label, progress_label, level_label = (
    _labeler(ROLE_LABELS), _labeler(REOPEN_LABELS), _labeler(PROGRESS_LABELS), _labeler(LEVEL_LABELS))


def vocab_label(code, table: str | None) -> str:
    """The word for ``code`` in a :mod:`workflow.vocabulary` table, in the request's language."""
    if not table:
        return "" if code is None else str(code)
    return gettext(vocabulary.label(table, code)) if code is not None else ""


def localtime(value: dt.datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A naive-UTC time from the database shown in China time."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return format_datetime(value.astimezone(workdays.TZ), fmt, rebase=False)


# --- error messages, by rule code ------------------------------------------------------

MESSAGES = {
    # rules of the lifecycle (workflow.spec)
    "unknown_trigger": _l("没有这个操作"),
    "wrong_state": _l("整改措施当前的状态不允许此操作"),
    "not_permitted": _l("您无权执行此操作"),
    "reason_required": _l("请填写理由"),
    "account_required": _l("请填写落实情况"),
    "evidence_required": _l("请至少上传一份佐证材料"),
    "four_eyes": _l("提交人不能审核或销号自己提交的整改"),
    "long_term_only": _l("只有长期坚持类整改措施需要巩固复查"),
    "category_required": _l("请选择重新整改的原因类别"),
    "reassign_target": _l("请指定新的责任人、责任单位或责任领导"),
    "comment_required": _l("内容不能为空"),
    "deadline_required": _l("请填写新的完成时限"),
    "no_pending_extension": _l("没有待审批的延期申请"),
    "extension_pending": _l("已有一份延期申请等待审批"),
    "invalid_input": _l("输入有误"),
    "evidence_not_accepted": _l("此操作不能附带佐证材料（审核通过后不能再补充佐证）"),
    "no_order": _l("该整改措施没有需要回复的督办单"),
    "self_check_only": _l("只有举一反三自查任务需要报告自查结论"),
    "finding_required": _l("请先报告自查结论（存在或不存在）"),
    "finding_reported": _l("该自查任务已报告过自查结论"),
    "already_decided": _l("该疑似反弹问题已处理过"),
    "plan_required": _l("请先选择一个整改方案"),
    # the engine
    "conflict": _l("该整改措施刚被其他人修改，请刷新后重试"),
    "precondition_failed": _l("该整改措施已被修改，您看到的不是最新版本，请刷新后重试"),
    "not_found": _l("没有找到您要的内容"),
    # evidence
    "evidence_empty": _l("上传的文件是空的"),
    "evidence_too_large": _l("文件太大，超过了上传限制"),
    "evidence_type": _l("只接受图片、PDF、Word 或 Excel 文件"),
    "evidence_unknown": _l("没有找到该佐证材料"),
    "evidence_submitted": _l("已提交审核的佐证材料会保留在记录中，不能删除"),
    "bad_parameter": _l("参数有误"),
    "evidence_missing": _l("该佐证材料已不在存储中，请重新上传"),
    "evidence_damaged": _l("该佐证材料已损坏（内容与其哈希值不符），不予提供，请联系管理员"),
    "evidence_store_unavailable": _l("佐证材料存储暂时无法写入，请稍后再试或联系管理员"),
    # passwords (workflow.passwords)
    "password_too_short": _l("密码至少需要 10 个字符"),
    "password_too_long": _l("密码太长，最多 200 个字符"),
    "password_common": _l("这是最常见的密码之一，请另选一个"),
    "password_is_username": _l("密码不能与用户名相同"),
    "password_wrong": _l("当前密码不正确"),
    "password_unchanged": _l("新密码不能与当前密码相同"),
    # HTTP
    "bad_request": _l("请求有误"),
    "validation_error": _l("请求的参数有误"),
    "unauthorized": _l("请先登录或提供有效的访问令牌"),
    "forbidden": _l("您无权访问此页面"),
    "method_not_allowed": _l("不支持此请求方法"),
    "not_acceptable": _l("无法提供所要求的格式"),
    "payload_too_large": _l("上传的内容太大"),
    "unsupported_media_type": _l("不支持的内容类型"),
    "too_many_requests": _l("尝试次数过多，请稍后再试"),
    "login_rate_limited": _l("登录失败次数过多，请 %(minutes)s 分钟后再试"),
    "csrf_failed": _l("页面已过期或缺少安全令牌，请刷新页面后重试"),
    "internal_error": _l("服务器内部错误，请稍后再试"),
    "service_unavailable": _l("服务暂时不可用"),
    "error": _l("出错了"),
}


def message(code: str, **params) -> str:
    """The text for an error ``code`` in the request's language."""
    text = MESSAGES.get(code) or MESSAGES["error"]
    text = str(text)
    if params:
        try:
            text = text % params
        except (KeyError, ValueError, TypeError):
            pass
    return text


# --- choosing the language ----------------------------------------------------------

def select_locale() -> str:
    """``?lang=``, then the ``lang`` cookie, then (API only) ``Accept-Language``, then Chinese."""
    chosen = request.args.get("lang")
    if chosen in LANGS:
        g.set_lang_cookie = chosen
        return chosen
    cookie = request.cookies.get(COOKIE)
    if cookie in LANGS:
        return cookie
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(LANGS, default=DEFAULT) or DEFAULT
    return DEFAULT


def current_lang() -> str:
    loc = get_locale()
    return loc.language if loc is not None and loc.language in LANGS else DEFAULT


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    Babel(app, locale_selector=select_locale)

    @app.before_request
    def _resolve_lang():
        # resolve now: the cookie is set when ?lang= asks for it, whatever the view does
        current_lang()

    @app.after_request
    def _remember_lang(response):
        lang = g.pop("set_lang_cookie", None)
        if lang:
            response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax",
                                secure=bool(app.config.get("RECTIFY_HTTPS")), httponly=True)
        response.vary.add("Accept-Language")
        return response

    # Jinja folds filters applied to literals at compile time; a context-dependent filter is
    # evaluated on every render instead, so each request gets its own language.
    def per_request(fn):
        @pass_context
        def _filter(_ctx, *args, **kwargs):
            return fn(*args, **kwargs)
        return _filter

    app.jinja_env.filters.update({
        name: per_request(fn) for name, fn in {
            "state_label": state_label, "trigger_label": trigger_label, "kind_label": kind_label,
            "light_label": light_label, "role_label": role_label, "reopen_label": reopen_label,
            "progress_label": progress_label, "localtime": localtime, "vocab_label": vocab_label,
            "level_label": level_label,
        }.items()
    })

    @app.context_processor
    def _lang_context():
        return {"lang": current_lang(), "LANGS": LANGS, "lang_url": lang_url}

    app.jinja_env.globals["colon"] = colon  # a global: imported macros see it too


def colon() -> str:
    """The colon after a label: full-width in Chinese, ": " in English."""
    return "：" if current_lang() == "zh" else ": "


def lang_url(code: str) -> str:
    """This page's address in language ``code`` (other query arguments kept)."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [code]
    return request.path + "?" + urlencode(args, doseq=True)


__all__ = [
    "LANGS", "MESSAGES", "colon", "current_lang", "gettext", "kind_label", "light_label", "localtime", "message",
    "progress_label", "reopen_label", "role_label", "select_locale", "state_label", "trigger_label",
]
