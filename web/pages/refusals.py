"""The engine's refusal details (English, for the command line and the API's ``detail``) in the words
a person reads on a page.

A refused rule has its sentence (:data:`web.i18n.MESSAGES`); where the engine says more — which
field, which limit, which unit — the detail is read here and said in the request's language. A
detail nobody has worded yet gives None, and the page shows the rule's sentence alone: never the
engine's English to a Chinese reader.
"""
from __future__ import annotations

import re

from flask_babel import gettext, lazy_gettext as _l

FIELDS = {
    "username": _l("用户名"), "name": _l("名称"), "password": _l("密码"), "unit": _l("单位"), "roles": _l("角色"),
    "email": _l("电子邮箱"), "alias": _l("别名"), "aliases": _l("别名"), "parent": _l("上级单位"),
    "kind": _l("类型"), "text": _l("内容"), "problem": _l("问题"), "comment": _l("内容"), "reason": _l("原因"),
    "new_deadline": _l("申请延至"), "owner": _l("责任人"), "leader": _l("责任领导"), "category": _l("类别"),
}

# (pattern over the detail without its "field: " prefix, sentence with the pattern's groups)
DETAILS = (
    (r"must not be empty", _l("%(field)s不能为空")),
    (r"at least (?P<n>\d+) characters", _l("%(field)s至少 %(n)s 个字符")),
    (r"at most (?P<n>\d+) characters", _l("%(field)s最多 %(n)s 个字")),
    (r"2–80 letters, digits, '\.', '_' or '-'", _l("%(field)s须为 2–80 个字母、数字、“.”、“_”或“-”")),
    (r"(?P<v>.+) already exists", _l("%(field)s「%(v)s」已存在")),
    (r"no such unit: (?P<v>.+)", _l("没有名为「%(v)s」的单位")),
    (r"no such (?:active )?(?:user|person): (?P<v>.+)", _l("没有在用的人员「%(v)s」")),
    (r"(?P<v>\S+) does not hold the role (?P<r>\w+)", _l("「%(v)s」不是%(r)s")),
    (r"unknown role\(s\): (?P<v>.+)", _l("没有这个角色：%(v)s")),
    (r"one of .*", _l("%(field)s不在可选范围内")),
    (r"(?P<v>.+) already names another unit(?: \((?P<o>.+)\))?", _l("「%(v)s」已是另一个单位的名称或别名")),
    (r"a unit cannot be under itself or one of its own sub-units", _l("单位不能隶属于它自己或它的下级单位")),
    (r"(?P<v>.+) is already a name of (?P<o>.+)", _l("「%(v)s」已经是「%(o)s」的名称")),
    (r"(?P<v>.+) is not an alias of (?P<o>.+)", _l("「%(v)s」不是「%(o)s」的别名")),
    (r"the new deadline must be later than the one in force", _l("新的完成时限须晚于现行的完成时限")),
    (r"the new deadline must not be in the past", _l("新的完成时限不能早于今天")),
    (r"an extension reaches at most (?P<n>\d+) years ahead", _l("延期最多延至 %(n)s 年后")),
    (r"not a date \(YYYY-MM-DD\): (?P<v>.*)", _l("「%(v)s」不是日期（年-月-日）")),
    (r"not a problem of plan \d+", _l("所选问题不属于该整改方案")),
    (r"not UTF-8 or GB18030 text", _l("%(field)s不是可读的文本文件（UTF-8 或 GB18030）")),
    (r"unknown kind '(?P<v>.*)' \(one of .*\)", _l("没有「%(v)s」这种单位类型")),
    (r"(?P<v>.+) repeats row (?P<n>\d+)", _l("「%(v)s」与第 %(n)s 行重复")),
    (r"empty: expected a header row.*", _l("%(field)s是空的，第一行应是表头（名称、类型、上级单位、别名）")),
    (r"expected a column name.*", _l("%(field)s缺少“名称”列")),
    (r"more than (?P<n>\d+) rows", _l("超过 %(n)s 行")),
    (r"not a readable \.xlsx workbook.*", _l("%(field)s不是可读的 Excel 工作簿")),
    # typed text (workflow.text)
    (r"must be text", _l("%(field)s须为文字")),
    (r"is not valid text.*", _l("%(field)s含有无法识别的字符")),
    (r"must not contain direction-changing characters \(U\+(?P<v>[0-9A-F]+)\)",
     _l("%(field)s不能含有改变文字方向的字符（U+%(v)s）")),
    (r"must not contain control characters \(U\+(?P<v>[0-9A-F]+)\)", _l("%(field)s不能含有控制字符（U+%(v)s）")),
    (r"shows no visible text", _l("%(field)s没有可见的文字")),
)
_COMPILED = tuple((re.compile(rf"^{p}$", re.S), sentence) for p, sentence in DETAILS)
_FIELD = re.compile(r"^(?P<field>[\w.\-]+): (?P<rest>.+)$", re.S)
# a file's cell: "org.csv: row 3, column kind: …" (several joined by "; ")
_FILE = re.compile(r"^(?P<file>[^:;\n]+?\.(?:csv|xlsx|xlsm|txt|docx))(?:: (?P<rest>.+))?$", re.S)
_CELL = re.compile(r"^row (?P<row>\d+)(?:, column (?P<col>\w+))?: (?P<rest>.+)$", re.S)


def _field_label(field: str) -> str:
    label = FIELDS.get(field)
    if label is not None:
        return str(label)
    return gettext("「%(f)s」", f=field)


def detail_text(detail: str | None) -> str | None:
    """The engine's detail in the request's language, or None when it has no wording here."""
    if not detail:
        return None
    located = _FILE.match(detail.strip())
    if located:
        return _in_file(located.group("file"), located.group("rest") or "")
    return _plain(detail.strip())


def _in_file(name: str, rest: str) -> str:
    """Problems in a file's cells, each naming its row and column (the file is named once)."""
    said = []
    for part in (p.strip() for p in rest.split("; ") if p.strip()):
        cell = _CELL.match(part)
        if cell:
            where = gettext("第 %(n)s 行", n=cell.group("row"))
            if cell.group("col"):
                where += gettext("「%(col)s」列", col=_field_label(cell.group("col")).strip("「」"))
            said.append(f"{where}：{_plain(cell.group('rest')) or gettext('有误')}")
        else:
            said.append(_plain(part) or gettext("有误"))
    return f"{name}：" + "；".join(said) if said else gettext("%(name)s 有误", name=name)


def _plain(whole: str) -> str | None:
    m = _FIELD.match(whole)
    tries = ([(m.group("field"), m.group("rest"))] if m else []) + [("", whole)]
    for field, rest in tries:
        for pattern, sentence in _COMPILED:
            hit = pattern.match(rest)
            if hit:
                return _say(str(sentence), field, {k: v for k, v in hit.groupdict().items() if v is not None})
    return None


def _say(sentence: str, field: str, params: dict) -> str:
    if "r" in params:
        from web.i18n import role_label

        params["r"] = role_label(params["r"])
    params["field"] = _field_label(field) if field and field != "roles" else ""
    return sentence % {k: params.get(k, "") for k in re.findall(r"%\((\w+)\)s", sentence)}
