"""Excel ledgers in the layouts offices keep, generated with openpyxl for the tests.

Each builder writes a small .xlsx and returns its path; ``EXPECTED_*`` describe what an import
of it must produce. People and units are fictional roles.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

import openpyxl

CN_HEADER = ["序号", "方面", "问题", "整改措施", "责任领导", "责任单位", "责任人", "完成时限", "整改类型", "整改进度",
             "落实情况"]


def write_xlsx(path: Path, rows: list[list], *, merges=(), sheet: str = "台账", extra_sheets=()) -> Path:
    """Rows as given (None for an empty cell), then the merged ranges."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    for ref in merges:
        ws.merge_cells(ref)
    for title, more in extra_sheets:
        other = wb.create_sheet(title)
        for row in more:
            other.append(row)
    wb.save(path)
    return Path(path)


def customary(path: Path, *, status3: str | None = "正在整改", deadline1="2023年3月底前", no2="2",
              measure1: str = "制定专题学习计划并组织学习") -> Path:
    """A title row, a Chinese header, problems spanning measure rows with merged cells."""
    rows = [
        ["东城区落实巡察反馈意见整改台账", None, None, None, None, None, None, None, None, None, None],
        CN_HEADER,
        ["1", "一、责任意识不够强方面", "学习不主动，未及时学习有关指示批示精神。", measure1, "分管领导甲",
         "区党政办", "党政办责任人", deadline1, "限期整改", "已完成", "已组织专题学习4次。"],
        [None, None, None, "纳入理论中心组学习计划", "分管领导甲", "区党政办", "党政办责任人",
         dt.datetime(2023, 1, 11), None, "已完成，长期坚持", "已纳入2023年学习计划。"],
        [None, None, None, "建立学习台账，定期通报", "分管领导甲", "区党政办", "党政办科员", "长期坚持", None,
         status3, None],
        [no2, None, "贯彻有差距，未结合实际安排部署灾后重建工作。", "召开专项会议研究部署", "分管领导乙", "发改局",
         "发改局责任人", "立行立改", None, "已完成", "已召开专项会议。"],
        ["3", "二、履职尽责不到位方面", "应急培训不到位，培训对象未覆盖主要领导。", "制定年度培训计划", "分管领导乙",
         "区防办", "防办责任人", "2023.2.28", None, None, None],
        [None, None, None, "督促办事处开展应急培训", "分管领导乙", "祖师办事处", "办事处责任人", "2023年6月", "限期整改",
         "正在整改", None],
    ]
    merges = ["A1:K1", "A3:A5", "B3:B6", "C3:C5", "E3:E5", "F3:F5", "A7:A8", "B7:B8", "C7:C8", "E7:E8"]
    return write_xlsx(path, rows, merges=merges)


EXPECTED_CUSTOMARY = {
    "title": "东城区落实巡察反馈意见整改台账",
    "parts": [(1, "责任意识不够强方面"), (2, "履职尽责不到位方面")],
    "problems": [(1, 1, "学习不主动，未及时学习有关指示批示精神。"), (2, 1, "贯彻有差距，未结合实际安排部署灾后重建工作。"),
                 (3, 2, "应急培训不到位，培训对象未覆盖主要领导。")],
    # (problem no, seq, text, kind, deadline, state, unit, owner name, leader name, account)
    "measures": [
        (1, 1, "制定专题学习计划并组织学习", "time_bound", dt.date(2023, 3, 31), "closed", "区党政办", "党政办责任人",
         "分管领导甲", "已组织专题学习4次。"),
        (1, 2, "纳入理论中心组学习计划", "long_term", dt.date(2023, 1, 11), "closed", "区党政办", "党政办责任人",
         "分管领导甲", "已纳入2023年学习计划。"),
        (1, 3, "建立学习台账，定期通报", "long_term", None, "in_progress", "区党政办", "党政办科员", "分管领导甲", None),
        (2, 1, "召开专项会议研究部署", "immediate", None, "closed", "发改局", "发改局责任人", "分管领导乙",
         "已召开专项会议。"),
        (3, 1, "制定年度培训计划", "time_bound", dt.date(2023, 2, 28), "assigned", "区防办", "防办责任人", "分管领导乙",
         None),
        (3, 2, "督促办事处开展应急培训", "time_bound", dt.date(2023, 6, 30), "in_progress", "祖师办事处", "办事处责任人",
         "分管领导乙", None),
    ],
}


def english(path: Path) -> Path:
    """English headers, dotted numbers, problem cells left blank below the first row (no merges)."""
    rows = [
        ["No.", "Part", "Problem", "Measure", "Responsible leader", "Responsible unit", "Owner", "Deadline",
         "Type", "Status", "Account"],
        ["1.1", "Part one: duty", "Study was not proactive.", "Make a study plan", "Leader A", "Office", "Office owner",
         "2023-03-31", "time-bound", "done", "Plan made."],
        ["1.2", None, None, "Report monthly", "Leader A", "Office", "Office owner", "2023/4/30", None, "in progress",
         None],
        ["2.1", None, "Training was weak.", "Train every quarter", "Leader B", "Emergency office", "Duty owner",
         "long-term", None, None, None],
    ]
    return write_xlsx(path, rows, sheet="Ledger")


def sections(path: Path) -> Path:
    """A two-row header, section rows merged across the table, a row-counter 序号, other header words."""
    rows = [
        ["整改工作台账（第一批）"] + [None] * 10,
        ["填报单位：区整改办"] + [None] * 10,
        ["序号", "反馈问题", "整改措施", "责任主体", None, None, "整改时限", "完成情况", "整改进展情况", "备注", None],
        [None, None, None, "责任领导", "责任单位", "责任人", None, None, None, None, None],
        ["（一）责任意识不够强方面"] + [None] * 10,
        ["1. 学习贯彻不及时"] + [None] * 10,
        [1, "学习不主动。", "制定学习计划", "分管领导甲", "区党政办", "党政办责任人", "2023年3月底前", "已完成",
         "已制定。", None, None],
        [2, None, "开展专题学习", "分管领导甲", "区党政办", "党政办责任人", "2023年第一季度", "正在整改", None, None, None],
        [3, "贯彻有差距。", "召开专项会议", "分管领导乙", "发改局", "发改局责任人", "立行立改", "已完成", "已召开。",
         None, None],
        ["（二）履职尽责不到位方面"] + [None] * 10,
        [4, "应急培训不到位。", "制定培训计划", "分管领导乙", "区防办", "防办责任人", "2023年上半年", None, None, None, None],
        ["注：本表由区整改办汇总。"] + [None] * 10,
    ]
    merges = ["A1:I1", "A3:A4", "B3:B4", "C3:C4", "D3:F3", "G3:G4", "H3:H4", "I3:I4", "A5:I5", "A6:I6", "B7:B8",
              "A10:I10"]
    return write_xlsx(path, rows, merges=merges, sheet="台账")


def random_file(path: Path, size: int = 10 * 1024 * 1024, prefix: bytes = b"") -> Path:
    with open(path, "wb") as fh:
        fh.write(prefix)
        left = size - len(prefix)
        while left > 0:
            n = min(left, 1 << 20)
            fh.write(os.urandom(n))
            left -= n
    return Path(path)


def _zip(entries: list[tuple[str, int, int, int, bytes]]) -> bytes:
    """A zip archive from (name, method, crc, uncompressed size, stored bytes) entries."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, method, crc, usize, data in entries:
        fn = name.encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), usize, len(fn), 0))
        out.write(fn)
        out.write(data)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(data),
                                  usize, len(fn), 0, 0, 0, 0, 0, offset))
        central.write(fn)
    cd = central.getvalue()
    start = out.tell()
    out.write(cd)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(cd), start, 0))
    return out.getvalue()


def zip_bomb(path: Path, inflated_mb: int = 300) -> Path:
    """A tiny, valid .xlsx whose sheet XML inflates to ``inflated_mb`` MB.

    The deflate stream is one compressed chunk repeated (each ends with a full flush, so the
    copies are independent), which keeps building it fast.
    """
    content_types = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                     b'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>')
    workbook = (b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
                b'spreadsheetml/2006/main"><sheets><sheet name="S" sheetId="1"/></sheets></workbook>')
    chunk = b"<row/>" * (1 << 17)  # 768 KiB
    copies = inflated_mb * 1024 * 1024 // len(chunk)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    stream = piece * copies + comp.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(copies):
        crc = zlib.crc32(chunk, crc)
    entries = [("[Content_Types].xml", 0, zlib.crc32(content_types), len(content_types), content_types),
               ("xl/workbook.xml", 0, zlib.crc32(workbook), len(workbook), workbook),
               ("xl/worksheets/sheet1.xml", 8, crc, len(chunk) * copies, stream)]
    Path(path).write_bytes(_zip(entries))
    return Path(path)


def docx_bytes() -> bytes:
    """A minimal zip that is a Word package, not a workbook."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<document/>")
    return buf.getvalue()


# --- ledgers from other offices' systems ------------------------------------------------------
# Each is built as that kind of office keeps it; the fictional units are 测试县… and the people roles.

def audit_system(path: Path, *, feedback_header: str = "整改反馈", status4: str = "待整改") -> Path:
    """An audit-rectification system's export: 问题描述 / 审计建议 / 整改负责人 / 整改验收情况 / 整改反馈,
    amounts in 万元, and two columns of the system's own (问题来源, 审计项目编号)."""
    header = ["序号", "问题类型", "问题描述", "审计建议", "责任单位", "整改负责人", "整改期限", "整改验收情况",
              feedback_header, "涉及金额（万元）", "问题来源", "审计项目编号"]
    rows = [
        ["2024年度审计发现问题整改台账"] + [None] * 11,
        header,
        [1, "财务管理方面", "专项资金未按规定用途使用。", "收回挪用资金并调整账目", "测试县财政局", "财政局整改负责人",
         dt.datetime(2024, 6, 30), "整改完成", "已收回资金并调整账目。", 12.5, "年度预算执行审计", "SJ-2024-01"],
        [2, "财务管理方面", "公务接待超标准。", "建立接待审批制度", "测试县机关事务中心", "事务中心整改负责人",
         "2024年9月底前", "整改中", "制度已起草。", None, "年度预算执行审计", "SJ-2024-02"],
        [3, "项目管理方面", "工程项目未按期验收。", "组织竣工验收", "测试县住建局", "住建局整改负责人", "2024.12.31",
         "整改完成待审核", "已组织验收，待审核。", None, "专项审计", "SJ-2024-07"],
        [4, "项目管理方面", "合同管理不规范。", "完善合同审查流程", "测试县住建局", "住建局整改负责人", "2024年12月",
         status4, None, None, "专项审计", None],
    ]
    return write_xlsx(path, rows, merges=["A1:L1"], sheet="审计整改")


def signoff_problems(path: Path) -> Path:
    """A sign-off (销号) sheet of problems only: each row a problem that is its own task, parts as
    section rows, 配合单位 and 备注, and a 销号时间 column of the office's own."""
    rows = [
        ["巡察反馈问题整改销号台账"] + [None] * 8,
        ["序号", "问题简述", "责任单位", "配合单位", "责任人", "完成时限", "是否完成", "销号时间", "备注"],
        ["一、党的建设方面"] + [None] * 8,
        [1, "三重一大事项未集体研究。", "测试县教育局", "测试县财政局、测试县审计局", "教育局责任人",
         dt.datetime(2023, 6, 30), "是", dt.datetime(2023, 7, 5), "已销号"],
        [2, "党员发展程序不规范。", "测试县教育局", None, "教育局责任人", "长期坚持", "否", None, None],
        ["二、工作作风方面"] + [None] * 8,
        [3, "会议多文件多。", "测试县水利局", None, "水利局责任人", "2023年9月底前", "否", None, None],
    ]
    return write_xlsx(path, rows, merges=["A1:I1", "A3:I3", "A6:I6"], sheet="销号台账")


def measure_list(path: Path) -> Path:
    """A list of measures only (no 问题 column): 序号 1.1/1.2 groups them into problems, a plain 序号
    is a problem of its own; 进展情况 holds status words; 佐证材料 is the office's own column."""
    rows = [
        ["2024年整改任务清单"] + [None] * 6,
        ["序号", "整改任务", "牵头单位", "责任人", "时间节点", "进展情况", "佐证材料"],
        ["1.1", "修订议事规则", "测试县发改局", "发改局责任人", "2024年3月底前", "已完成", "议事规则（修订稿）"],
        ["1.2", "组织专题学习", "测试县发改局", "发改局责任人", "2024年4月底前", "推进中", None],
        ["2.1", "开展专项检查", "测试县市场监管局", "监管局责任人", "2024年6月底前", "未启动", None],
        ["3", "建立长效机制", "测试县市场监管局", "监管局责任人", "长期坚持", "持续整改", None],
    ]
    return write_xlsx(path, rows, merges=["A1:G1"], sheet="任务清单")


def supervision(path: Path) -> Path:
    """A supervision (督查) sheet: several leaders in one cell, several dated milestones in one cell
    (some without a year: the title's year), 配合单位, and a 督办意见 column of the office's own."""
    rows = [
        ["2024年巡察整改督查台账"] + [None] * 8,
        ["序号", "反馈问题", "整改措施", "包保领导", "责任单位", "配合单位", "时间节点", "推进情况", "督办意见"],
        [1, "学习制度落实不到位。", "健全学习制度", "县领导甲、县领导乙", "测试县党政办", None,
         "3月：制定制度\n6月底前：全面落实", "推进中", "加快进度"],
        [None, None, "开展督导检查", "县领导甲", "测试县党政办", "测试县纪委监委",
         "2024年4月：第一轮检查；9月：第二轮检查；12月底前：总结", "未启动", None],
        [2, "基层减负不到位。", "清理规范文件", "县领导丙", "测试县政务服务中心", None, "2024年5月底前", "整改完成",
         "按期完成"],
    ]
    return write_xlsx(path, rows, merges=["A1:I1", "A3:A4", "B3:B4"], sheet="督查台账")
