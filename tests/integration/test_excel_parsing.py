"""The words of a ledger: deadlines, numbers, status and kind words, headers, amounts."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from workflow import importing, vocabulary
from workflow.importing import ledger_apply, ledger_vocab

D = dt.date


@pytest.mark.parametrize("cell, expected", [
    (dt.datetime(2023, 3, 31, 0, 0), (D(2023, 3, 31), None)),
    (D(2023, 3, 31), (D(2023, 3, 31), None)),
    (45016, (D(2023, 3, 31), None)),  # an Excel serial day without a date format
    ("2023年3月底前", (D(2023, 3, 31), None)),
    ("2023年3月", (D(2023, 3, 31), None)),
    ("2023年2月底前完成", (D(2023, 2, 28), None)),
    ("2024年2月底", (D(2024, 2, 29), None)),
    ("2023年3月15日前", (D(2023, 3, 15), None)),
    ("2023年3月上旬", (D(2023, 3, 10), None)),
    ("2023年3月中旬前", (D(2023, 3, 20), None)),
    ("2023年12月下旬", (D(2023, 12, 31), None)),
    ("2023.3.15", (D(2023, 3, 15), None)),
    ("2023/03/31 00:00:00", (D(2023, 3, 31), None)),
    ("2023-3", (D(2023, 3, 31), None)),
    ("20230315", (D(2023, 3, 15), None)),
    ("2023年底前", (D(2023, 12, 31), None)),
    ("2023年上半年", (D(2023, 6, 30), None)),
    ("2023年第三季度", (D(2023, 9, 30), None)),
    ("２０２３年３月底前", (D(2023, 3, 31), None)),  # full-width digits
    ("立行立改", (None, "immediate")),
    ("长期坚持", (None, "long_term")),
    ("2022年12月底前完成，长期坚持", (D(2022, 12, 31), "long_term")),
    ("立行立改，2022年10月底前", (D(2022, 10, 31), "immediate")),
    ("long-term", (None, "long_term")),
    ("By 2023-03-31", (D(2023, 3, 31), None)),
    (None, (None, None)),
    ("  ", (None, None)),
])
def test_deadlines_are_read_from_dates_and_customary_text(cell, expected):
    assert ledger_vocab.parse_deadline(cell) == expected


@pytest.mark.parametrize("cell", ["2023年13月底前", "2023年2月30日", "下个月", "尽快", "2023年3月底前后再说", 3.5,
                                  True, "1899-12-31", "2023年中旬"])
def test_what_is_not_a_deadline_is_refused_with_the_reason(cell):
    with pytest.raises(ValueError, match="bad date"):
        ledger_vocab.parse_deadline(cell)


@pytest.mark.parametrize("cell, expected", [
    ("3", (3, None)), (3, (3, None)), (3.0, (3, None)), ("3.2", (3, 2)), ("3-2", (3, 2)), ("3－2", (3, 2)),
    (3.2, (3, 2)), ("（3）", (3, None)), ("问题3", (3, None)), ("12、", (12, None)), (None, (None, None)),
])
def test_numbers_name_a_problem_and_a_measure(cell, expected):
    assert ledger_vocab.parse_no(cell) == expected


@pytest.mark.parametrize("cell", ["三", "a1", "1.2.3", True])
def test_a_number_that_is_not_one_is_refused(cell):
    with pytest.raises(ValueError, match="bad number"):
        ledger_vocab.parse_no(cell)


@pytest.mark.parametrize("cell, expected", [
    ("已完成", ("closed", False)), ("已完成，长期坚持", ("closed", True)), ("已完成。", ("closed", False)),
    ("已销号", ("closed", False)), ("正在整改", ("in_progress", False)), ("整改中", ("in_progress", False)),
    ("待审核", ("submitted", False)), ("已审核", ("verified", False)), (None, ("assigned", False)),
    ("", ("assigned", False)), ("已交办", ("assigned", False)), ("Done", ("closed", False)),
    ("In progress", ("in_progress", False)),
])
def test_status_words_map_to_states(cell, expected):
    assert ledger_vocab.parse_status(cell) == expected


def test_an_unknown_status_word_is_refused_listing_the_accepted_ones():
    with pytest.raises(ValueError, match="unknown status word.*已完成"):
        ledger_vocab.parse_status("基本完成")


@pytest.mark.parametrize("cell, field", [
    ("序号", "no"), ("方面", "part"), ("问题类别", "part"), ("问题", "problem"), ("反馈问题", "problem"),
    ("问题描述", "problem"), ("整改措施", "measure"), ("责任领导", "leader"), ("责任单位", "unit"),
    ("责任人", "owner"), ("完成时限", "deadline"), ("整改时限", "deadline"), ("整改类型", "kind"),
    ("整改进度", "status"), ("完成情况", "status"), ("落实情况", "account"), ("整改进展情况", "account"),
    ("No.", "no"), ("Problem", "problem"), ("Responsible unit", "unit"), ("Due date", "deadline"),
    ("完成时限\n（年月日）", "deadline"), ("涉及金额（万元）", "amount_involved"), ("*问题", "problem"),
    ("备注", "remarks"), ("联系电话", None), ("", None),
])
def test_headers_vary_between_offices(cell, field):
    assert ledger_vocab.header_field(cell)[0] == field


def test_amounts_are_yuan_and_a_wan_column_is_multiplied():
    assert ledger_vocab.parse_amount(90000, False) == Decimal("90000.00")
    assert ledger_vocab.parse_amount("5.04万元", False) == Decimal("50400.00")
    assert ledger_vocab.parse_amount("1,200元", False) == Decimal("1200.00")
    assert ledger_vocab.parse_amount(3.82, True) == Decimal("38200.00")
    assert ledger_vocab.header_field("涉及金额（万元）") == ("amount_involved", True)
    with pytest.raises(ValueError, match="bad amount"):
        ledger_vocab.parse_amount("若干", False)


def test_part_and_category_numbering_is_split_from_the_title():
    assert ledger_vocab.split_part("（一）责任意识不够强方面") == (1, "责任意识不够强方面")
    assert ledger_vocab.split_part("十二、其他方面") == (12, "其他方面")
    assert ledger_vocab.split_part("责任意识不够强方面") == (None, "责任意识不够强方面")
    assert ledger_vocab.split_category("1. 关于学习贯彻") == (1, "关于学习贯彻")
    assert ledger_vocab.split_category("2．风险意识淡薄") == (2, "风险意识淡薄")
    assert ledger_vocab.split_category("2023年的问题") == (None, "2023年的问题")
    assert [vocabulary.cn_numeral(n) for n in (1, 10, 12, 20, 23)] == ["一", "十", "十二", "二十", "二十三"]
    assert [vocabulary.cn_int(s) for s in ("一", "十", "十二", "二十", "二十三")] == [1, 10, 12, 20, 23]


# --- regressions found by fuzzing ------------------------------------------------------

# A ledger cut short by the coverage-guided fuzzer, whose zip directory says an entry needs
# "version 24.2" to extract: Python's zipfile raised NotImplementedError past the importer.
UNSUPPORTED_ZIP_VERSION = (
    "UEsDBBQAAAAIALsifl1Gx01IlQAAAM0AAAAQAAAAZG9jUHJvcHMvYXBwLnhtbE3PTQvCMAwG4L9SdreZih6kDkQ9ip68zy51"
    "hbYpbYT67+0EP255ecgboi6JIia2mEXxLuRtMzLHDUDWI/o+y8qhiqHke64x3YGMsRoPpB8eA8OibdeAhTEMOMzit7Dp1C5G"
    "Z3XPlkJ3sjpRJsPiWDQ6sScfq9wcChDneiU+ixNLOZcrBf+LU8sVU57mym/8ZAW/B7oXUEsDBBQAAAAIALsifl3IgSZm7wAA"
    "ACsCAAARAAAAZG9jUHJvcHMvY29yZS54bWzNksFOwzAMhl8F5d66adkOUZcL004gITEJxC1KvC2iaaLEqN3b04atE4IH4Bj7"
    "z+FAJxyw4GaPv2Q4DV4uhQGjjnGSREahmJA4mQ8khsbUEIGQWRHo9bH9TmIc2u/A4vl7BDbOgQAkFgMZgVkO1BaWUtt2PjEN"
    "UZfoISFO+KBghaf/wfLu+SS6htFIwp0wJ7AZQ8hhtKdBhKNBQU7yC9v8MjYoxDFbXSkw9liLznQiYG0g7RGEomRQjVNkkEv0"
    "G4VP0CGIM2XxFgT5AVaiD9gSBYpFnb+v2qVxkAsZeT08EtweaUDtOKS2i6kY/RBSaVrVAicY30FslF+uHWRwcvy6XD1kMyE8"
    "IMjBuka4uzqjabdRovVAcPJ0xqe3XY6g91aD0Eh+soaHHG6MUQC3R6HUM47oR3vn+9Ky2OvHBtvMsNSbCAmNYnQTFfT/p7fo"
    "+5/dsk6+Wv9lgGpM0H8O1osnJ1p5CfqlvY8/hQ6J3EWfrAyXY5t9x51Tswt2GKTy0ozaWTCNMO9qA/eeH2Cp7/zD+Ua0fFD+"
    "ZQK32Sx/E40cdDWdesKyxlOz/BVnuCynzYRY0jTiIpp6VN3pEEQGAkQdLyS8RR/qLSmKqkojiKUzKAoKwbeRRqgMMAcKKYrw"
    "HXzzPcpv36l8/qe3+w1QSwMEFAAAAAgAuyJ+XZeKuxzAAAAAEwIAAAsAAABfcmVscy8ucmVsc52SuW7DMAxAf8XQnjAH0CGI"
    "M2XxFgT5AVaiD9gSBYpFnb+v2qVxkAsZeT08EtweaUDtOKS2i6kY/RBSaVrVuAFItiWPsOid9diUHVF8FAJVB05iHSJ4rrQh"
    "OUn8mrYiSrWTWxD3y+WDUMETeKooe5Tr1TO0cm+peOl5G03wTZnAYlk8jcLMakoZozVKEtfFwesflOpEqLlz0GBnIi5YUIqr"
    "hFz5HXDqeztASkZDsZGJXqVjleitQDpawHomHTXiQ9saBTqoveOWGmMCqbEDIGfr0XQxTSaeMIzPu9n8wWYKyMpNChE5sQR/"
    "x50jyd1VZCNIZKaveCGy9ez7QU5bg76RzeP9DGk35IFiWObP+HvGF/8bzvERwu6/P7G81k4af+aL4T9efwFQSwECFAMUAAAA"
    "CAC7In5dRsdNSJUAAADNAAAAEAAAAAAAAAAAAAAAgAEAAAAAZG9jUHJvcHMvYXBwLnhtbFBLAQIUAxQAAAAIALsifl3IgSZm"
    "7wAAACsCAAARAAAAAAAAAAAAAACAAcMAAABkb2NQcm9wcy9jb3JlLnhtbFBLAQIUA/L///8IALsifl2ZXJwjEAYAAJwnAAAT"
    "AAAAAAAAAAAAAACAAeEBAAB4bC90aGVtZS90aGVtZTEueG1sUEsBAhQDFAAAAAgAuyJ+Xd167U7kAgAA+AgAABgAAAAAAAAA"
    "AAAAAICBIggAAHhsL3dvcmtzaGVldHMvc2hlZXQxLnhtbFBLAQIUAxQAAAAIALsifl1886PcUQIAAPYJAAANAAAAAAAAAAMA"
    "AACAATwLAAB4bC9zdHlsZXMueG1sUEsBAhQDFAAAAAgAuyJ+XZeKuxzAAAAAEwIAAAsAAAAAAAAAAAAAAIABuA0AAF9yZWxz"
    "Ly5yZWxzUEsBAhQDFAAAAAgAuyJ+XVPO24ZJAQAAKQIAAA8AAAAAAAAAAAAAAIABoQ4AAHhsL3dvcmtib29rLnhtbFBLAQIU"
    "FAAAAwAACLsifl0kHpuirQAAAPgBAAAaAAAAAAAAAAAAAACAARcQAAB4bC9fcmVscy93b3JrYm9vay54bWwucmVsc1BLAQIU"
    "AxQAAAAIALsifl1lkHmSGQEAAM8DAAATAAAAAAAAAAAAAACAAfwQAABbQ29udGVudF9UeXBlc10ueG1sUEsFBgAAAAAJAAkA"
    "PgIAAEYSAAAAAA=="
)


def test_a_zip_entry_needing_an_unknown_zip_version_is_refused_as_unreadable(tmp_path):
    import base64

    path = tmp_path / "台账.xlsx"
    path.write_bytes(base64.b64decode("".join(UNSUPPORTED_ZIP_VERSION)))
    with pytest.raises(importing.LedgerImportError, match="unsupported zip feature.*zip file version 24.2"):
        importing.read_ledger(path)


def test_an_entry_with_an_unknown_compression_is_refused_before_openpyxl_opens_it(tmp_path):
    import io
    import zipfile

    from tests.data import ledgers

    good = ledgers.write_xlsx(tmp_path / "good.xlsx", [["问题", "整改措施"], ["问题一。", "措施一"]])
    out = io.BytesIO()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in src.namelist():
            z.writestr(name, src.read(name))
    data = bytearray(out.getvalue())
    at = data.index(b"PK\x01\x02")  # the first central-directory entry: compression method 99 (AES)
    data[at + 10:at + 12] = (99).to_bytes(2, "little")
    bad = tmp_path / "台账.xlsx"
    bad.write_bytes(bytes(data))
    with pytest.raises(importing.LedgerImportError, match="unsupported zip compression 99"):
        importing.read_ledger(bad)


class _Item:
    def __init__(self, no, title):
        self.no, self.title = no, title


def test_a_stored_part_is_matched_by_one_file_part_only():
    """A numbered part takes its number's stored part; an unnumbered part of that stored title is new."""
    stored = {1: (10, "巡察反馈问题"), 2: (20, "乙方面")}
    items = {"巡察反馈问题": _Item(None, "巡察反馈问题"), "甲方面": _Item(1, "甲方面"), "乙方面": _Item(None, "乙方面")}
    ids, nos, updates, created = ledger_apply.match_numbered(items, stored)
    assert ids == {"甲方面": 10, "乙方面": 20, "巡察反馈问题": None}
    assert nos == {"甲方面": 1, "乙方面": 2, "巡察反馈问题": 3}
    assert updates == [(10, "甲方面")] and created == 1


def test_a_file_renaming_a_numbered_part_imports_the_same_the_second_time(sqlite_engine, tmp_path):
    """The fuzzer's case: an unnumbered part and a numbered one both took stored part 1; the second
    import then created a part and moved a problem into it."""
    from tests.data import ledgers

    now = dt.datetime(2023, 1, 20, 2, 0)
    first = ledgers.write_xlsx(tmp_path / "a.xlsx", [["问题", "整改措施"], ["问题一。", "措施一"]])
    assert importing.import_ledger(first, title="同一方案", now=now, engine=sqlite_engine)["create"]["parts"] == 1
    second = ledgers.write_xlsx(tmp_path / "b.xlsx", [["方面", "问题", "整改措施"],
                                                      ["巡察反馈问题", "问题一。", "措施一"],
                                                      ["一、甲方面", "问题二。", "措施二"]])
    s = importing.import_ledger(second, title="同一方案", now=now, engine=sqlite_engine)
    assert s["create"]["parts"] == 1 and s["update"]["parts"] == 1
    again = importing.import_ledger(second, title="同一方案", now=now, engine=sqlite_engine)
    assert not any(again["create"].values()) and not any(again["update"].values())
    assert again["unchanged"] == {"problems": 2, "measures": 2}
