"""Languages: Chinese by default, English on request, and a catalogue that is complete and compiled."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import web
from web import i18n
from workflow import commands, effects, evidence as ev, rules, spec, vocabulary

WEB = Path(web.__file__).resolve().parent
WORKFLOW = Path(vocabulary.__file__).resolve().parent
PO = WEB / "translations" / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _catalog(path: Path):
    with open(path, "rb") as fh:
        return read_po(fh)


def test_every_text_in_the_web_app_has_an_english_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(WEB / "translations" / "babel.cfg"),
                                "-k", "lazy_gettext", "-k", "_l", "-k", "N_", "-o", str(pot), str(WEB),
                                str(WORKFLOW)])
    wanted = {m.id for m in _catalog(pot) if m.id}
    en = {m.id: m.string for m in _catalog(PO) if m.id}
    assert wanted, "nothing extracted"
    missing = sorted(wanted - set(en))
    assert not missing, f"not in {PO.name} (run pybabel update): {missing}"
    untranslated = sorted(k for k in wanted if not en[k])
    assert not untranslated, f"no English yet: {untranslated}"
    broken = sorted(k for k in wanted if set(PLACEHOLDER.findall(k)) != set(PLACEHOLDER.findall(en[k])))
    assert not broken, f"placeholders differ: {broken}"


def test_the_compiled_catalogue_matches_its_source():
    with open(MO, "rb") as fh:
        compiled = {m.id: m.string for m in read_mo(fh) if m.id}
    source = {m.id: m.string for m in _catalog(PO) if m.id and not m.fuzzy}
    assert compiled == source, "run: pybabel compile -d web/translations"


def test_the_label_tables_say_what_the_engine_says():
    assert {k: str(v) for k, v in i18n.STATE_LABELS.items()} == spec.STATE_LABELS
    assert {k: str(i18n.TRIGGER_LABELS[k]) for k in spec.TRIGGERS} == {k: t.label for k, t in spec.TRIGGERS.items()}
    assert {k: str(v) for k, v in i18n.KIND_LABELS.items()} == spec.KIND_LABELS
    assert {k: str(v) for k, v in i18n.REOPEN_LABELS.items()} == spec.REOPEN_LABELS
    assert {k: str(v) for k, v in i18n.PROGRESS_LABELS.items()} == vocabulary.PROGRESS_LABELS
    assert {k: str(v) for k, v in i18n.LEVEL_LABELS.items()} == vocabulary.LEVEL_LABELS
    assert {k: str(v) for k, v in i18n.LIGHT_LABELS.items()} == vocabulary.LIGHT_LABELS
    assert set(i18n.ROLE_LABELS) == set(spec.ROLES)


def test_every_word_of_the_vocabulary_is_marked_for_the_catalogue():
    source = Path(vocabulary.__file__).read_text(encoding="utf-8") + Path(spec.__file__).read_text(encoding="utf-8")
    marked = set(re.findall(r'N_\("([^"]+)"\)', source))
    words = {w for table in vocabulary.TABLES.values() for w in table.values()}
    words |= {t.label for t in spec.TRIGGERS.values()} | {p.label for p in spec.PARAMS.values()}
    assert words <= marked


def test_every_rule_the_engine_can_refuse_with_has_a_message():
    modules = (spec, rules, effects, commands.measures, ev)
    source = "".join(Path(m.__file__).read_text() for m in modules)
    refusals = set(re.findall(r'Refused\("(\w+)"', source)) | set(re.findall(r'return \("(\w+)", "', source))
    assert {"wrong_state", "not_permitted", "four_eyes", "evidence_type"} <= refusals
    assert not refusals - set(i18n.MESSAGES), sorted(refusals - set(i18n.MESSAGES))


def test_pages_are_chinese_unless_the_person_chooses_english_whatever_the_browser_prefers(site):
    assert '<html lang="zh-CN">' in site.client.get("/login").get_data(as_text=True)
    c = site.app.test_client()
    r = c.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="zh-CN">' in r.get_data(as_text=True) and "登录" in r.get_data(as_text=True)
    r = c.get("/login?lang=en", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="en">' in r.get_data(as_text=True) and "Sign in" in r.get_data(as_text=True)


def test_api_clients_may_ask_for_english_with_accept_language(site):
    r = site.api("GET", "/api/v1/measures/99999", "owner1", headers={"Accept-Language": "en"})
    assert r.status_code == 404 and r.get_json()["message"] == "Not found"


def test_lang_in_the_address_switches_and_is_remembered(site):
    c = site.app.test_client()
    r = c.get("/login?lang=en", headers={"Accept-Language": "zh-CN"})
    assert "Sign in" in r.get_data(as_text=True)
    assert c.get_cookie("lang").value == "en"
    assert "Sign in" in c.get("/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "登录" in c.get("/login?lang=zh").get_data(as_text=True)
    assert "登录" in c.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    r = c.get("/login?lang=fr")
    assert "登录" in r.get_data(as_text=True) and c.get_cookie("lang").value == "zh"
