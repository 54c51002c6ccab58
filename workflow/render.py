"""Documents: a small block model (:class:`Doc`) and its rendering as Markdown, print-ready HTML
(A4, no external assets) or .docx (python-docx, real heading styles, the customary fonts declared for
East-Asian text: 方正小标宋简体 for the title, 黑体 for level 1, 楷体 for level 2, 仿宋_GB2312 for the body).

The public notice (:mod:`workflow.report`), the digests and the printable supervision order build a
:class:`Doc` and call :func:`render`, or hand over Markdown to :func:`from_markdown`::

    from workflow.render import Doc, Heading, Items, Para, Table, from_markdown, render
    doc = Doc("东城区巡察整改周报告", [Heading("一、总体情况", 1), Para("本周……"),
                                   Table(["责任单位", "措施数"], [["水利局", 3]]), Items(["措施 3 已逾期"])])
    data = render(doc, "docx")  # bytes; "md" and "html" give UTF-8 bytes too
    data = render(from_markdown(body), "html")  # '# title', '## …', paragraphs, '- ' lists, pipe tables
"""
from __future__ import annotations

import html as html_mod
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import outfile

FORMATS = ("md", "html", "docx")

FONT_TITLE = "方正小标宋简体"
FONT_H1 = "黑体"
FONT_H2 = "楷体"
FONT_BODY = "仿宋_GB2312"
FONT_LATIN = "Times New Roman"


# --- the document model -----------------------------------------------------------

@dataclass
class Heading:
    """A heading: level 1 (一、), 2 (（一）) or 3 (1.); the document title is :attr:`Doc.title`."""

    text: str
    level: int = 1


@dataclass
class Para:
    """A body paragraph; ``lead`` is a bold run before the text (``问题1：``)."""

    text: str
    lead: str | None = None
    align: str = "justify"  # justify, center, right
    indent: bool = True  # first-line indent of two characters


@dataclass
class Table:
    columns: list[str]
    rows: list[list]
    caption: str | None = None


@dataclass
class Items:
    """A bulleted list."""

    items: list[str]


@dataclass
class Signature:
    """Right-aligned closing lines: the issuer and the date."""

    lines: list[str]


Block = Heading | Para | Table | Items | Signature


@dataclass
class Doc:
    title: str
    blocks: list = field(default_factory=list)
    issuer: str | None = None  # the line above the title (发文机关)
    lang: str = "zh-CN"


# --- rendering --------------------------------------------------------------------

def render(doc: Doc, fmt: str) -> bytes:
    """``doc`` as Markdown, HTML or .docx bytes (``fmt``: md, html, docx)."""
    if fmt == "md":
        return to_markdown(doc).encode("utf-8")
    if fmt == "html":
        return to_html(doc).encode("utf-8")
    if fmt == "docx":
        return to_docx(doc)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def write(doc: Doc, path: str | Path, fmt: str | None = None) -> Path:
    """Render ``doc`` to ``path`` (format from ``fmt`` or the file suffix), atomically."""
    path = Path(path)
    if fmt is None:
        suffix = path.suffix.lstrip(".").lower()
        fmt = {"markdown": "md", "htm": "html"}.get(suffix, suffix)
    outfile.check(path)
    return outfile.write_bytes(path, render(doc, fmt))


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)]


def from_markdown(text: str, title: str | None = None) -> Doc:
    """A :class:`Doc` from simple Markdown: ``#``-headings (the first ``#`` is the title), paragraphs,
    ``-`` lists and pipe tables. Emphasis marks are kept as text. For digests written as Markdown."""
    blocks: list = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if not line.strip():
            i += 1
            continue
        m = re.match(r"^(#{1,6})\s+(.*?)\s*#*$", line)
        if m:
            level = len(m.group(1))
            if level == 1 and title is None:
                title = m.group(2)
            else:
                blocks.append(Heading(m.group(2), min(max(level - 1, 1), 3)))
            i += 1
            continue
        if line.lstrip().startswith("|"):
            rows = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                cells = _cells(lines[i])
                if not all(re.fullmatch(r":?-{3,}:?", c) for c in cells if c):
                    rows.append(cells)
                i += 1
            if rows:
                blocks.append(Table(rows[0], rows[1:]))
            continue
        if re.match(r"^\s*[-*+]\s+", line):
            items = []
            while i < len(lines) and re.match(r"^\s*[-*+]\s+", lines[i]):
                items.append(re.sub(r"^\s*[-*+]\s+", "", lines[i]).strip())
                i += 1
            blocks.append(Items(items))
            continue
        para = []
        while i < len(lines) and lines[i].strip() and not re.match(r"^(#{1,6}\s|\s*\||\s*[-*+]\s)", lines[i]):
            para.append(lines[i].strip())
            i += 1
        blocks.append(Para("".join(para)))
    return Doc(title or "", blocks)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def _md(text: str, block_start: bool = False) -> str:
    """Escape Markdown syntax; at the start of a paragraph also list markers (``1.`` ``-``)."""
    text = _MD_SPECIAL.sub(r"\\\1", str(text))
    if block_start:
        text = re.sub(r"^(\s*)(\d+)\.(\s)", r"\1\2\\.\3", text, flags=re.M)
        text = re.sub(r"^(\s*)([-+])(\s)", r"\1\\\2\3", text, flags=re.M)
    return text


def to_markdown(doc: Doc) -> str:
    out = []
    if doc.issuer:
        out.append(f"**{_md(doc.issuer)}**")
    out.append(f"# {_md(doc.title)}")
    for b in doc.blocks:
        if isinstance(b, Heading):
            out.append(f"{'#' * (b.level + 1)} {_md(b.text)}")
        elif isinstance(b, Para):
            lead = f"**{_md(b.lead)}**" if b.lead else ""
            out.append(lead + _md(b.text, block_start=not b.lead))
        elif isinstance(b, Table):
            if b.caption:
                out.append(f"**{_md(b.caption)}**")
            lines = ["| " + " | ".join(_md(c) for c in b.columns) + " |",
                     "|" + "|".join(" --- " for _ in b.columns) + "|"]
            lines += ["| " + " | ".join(_md("" if v is None else v).replace("\n", " ") for v in row) + " |"
                      for row in b.rows]
            out.append("\n".join(lines))
        elif isinstance(b, Items):
            out.append("\n".join(f"- {_md(x)}" for x in b.items))
        elif isinstance(b, Signature):
            out.append("  \n".join(_md(x) for x in b.lines))
    return "\n\n".join(out) + "\n"


_CSS = """
@page { size: A4; margin: 37mm 26mm 35mm 28mm; }
html { background: #fff; }
body { font-family: "%(body)s", "FangSong_GB2312", "仿宋", "FangSong", "STFangsong", serif;
  font-size: 16pt; line-height: 28pt; color: #000; margin: 0; }
@media screen { body { max-width: 156mm; margin: 12mm auto; padding: 0 8mm; } }
.issuer, h1 { font-family: "%(title)s", "FZXiaoBiaoSong-B05S", "华文中宋", "STZhongsong", "SimSun", serif;
  font-weight: normal; text-align: center; }
.issuer { font-size: 22pt; line-height: 34pt; margin: 0 0 8pt; }
h1 { font-size: 22pt; line-height: 34pt; margin: 0 0 28pt; }
h2 { font-family: "%(h1)s", "SimHei", "Heiti SC", "STHeiti", sans-serif; font-size: 16pt; font-weight: normal;
  margin: 0; text-indent: 2em; }
h3 { font-family: "%(h2)s", "楷体_GB2312", "KaiTi", "STKaiti", serif; font-size: 16pt; font-weight: normal;
  margin: 0; text-indent: 2em; }
h4 { font-size: 16pt; font-weight: bold; margin: 0; text-indent: 2em; }
h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
p { margin: 0; text-indent: 2em; text-align: justify; orphans: 2; widows: 2; }
p.noindent { text-indent: 0; }
p.center { text-align: center; text-indent: 0; }
p.right { text-align: right; text-indent: 0; }
p b { font-weight: bold; }
.signature { text-align: right; margin-top: 28pt; }
.signature p { text-align: right; text-indent: 0; }
table { border-collapse: collapse; width: 100%%; font-size: 12pt; line-height: 18pt; margin: 8pt 0;
  break-inside: auto; }
th, td { border: 0.5pt solid #000; padding: 2pt 4pt; vertical-align: top; }
th { font-family: "%(h1)s", "SimHei", sans-serif; font-weight: normal; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
caption { font-family: "%(h1)s", "SimHei", sans-serif; text-align: left; }
ul { margin: 0 0 0 2em; padding: 0; }
li { text-align: justify; }
""" % {"body": FONT_BODY, "title": FONT_TITLE, "h1": FONT_H1, "h2": FONT_H2}


def to_html(doc: Doc) -> str:
    e = html_mod.escape
    out = ["<!DOCTYPE html>", f'<html lang="{e(doc.lang)}">', "<head>", '<meta charset="utf-8">',
           f"<title>{e(doc.title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>"]
    if doc.issuer:
        out.append(f'<div class="issuer">{e(doc.issuer)}</div>')
    out.append(f"<h1>{e(doc.title)}</h1>")
    for b in doc.blocks:
        if isinstance(b, Heading):
            lv = min(max(b.level, 1), 3) + 1
            out.append(f"<h{lv}>{e(b.text)}</h{lv}>")
        elif isinstance(b, Para):
            cls = {"center": "center", "right": "right"}.get(b.align, "" if b.indent else "noindent")
            attr = f' class="{cls}"' if cls else ""
            lead = f"<b>{e(b.lead)}</b>" if b.lead else ""
            out.append(f"<p{attr}>{lead}{e(b.text)}</p>")
        elif isinstance(b, Table):
            rows = ["<table>"]
            if b.caption:
                rows.append(f"<caption>{e(b.caption)}</caption>")
            rows.append("<thead><tr>" + "".join(f"<th>{e(str(c))}</th>" for c in b.columns) + "</tr></thead>")
            rows.append("<tbody>")
            for row in b.rows:
                rows.append("<tr>" + "".join(f"<td>{e('' if v is None else str(v))}</td>" for v in row) + "</tr>")
            rows.append("</tbody></table>")
            out.append("".join(rows))
        elif isinstance(b, Items):
            out.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in b.items) + "</ul>")
        elif isinstance(b, Signature):
            out.append('<div class="signature">' + "".join(f"<p>{e(x)}</p>" for x in b.lines) + "</div>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _set_fonts(style_or_run, east_asia: str, latin: str = FONT_LATIN) -> None:
    """Declare ``east_asia`` for Chinese text (w:eastAsia) and drop theme fonts that would override it."""
    from docx.oxml.ns import qn

    el = style_or_run.element
    rpr = el.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, rfonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    rfonts.set(qn("w:cs"), latin)
    rfonts.set(qn("w:eastAsia"), east_asia)


def _style(doc, name: str, east_asia: str, size: float, bold: bool = False, align=None,
           indent: bool = True, base: str | None = None):
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_LINE_SPACING
    from docx.shared import Pt, RGBColor

    styles = doc.styles
    try:
        st = styles[name]
    except KeyError:
        st = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        if base:
            st.base_style = styles[base]
    st.font.size = Pt(size)
    st.font.bold = bold
    st.font.italic = False
    st.font.color.rgb = RGBColor(0, 0, 0)
    _set_fonts(st, east_asia)
    pf = st.paragraph_format
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = Pt(28 if size <= 16 else 34)
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    pf.first_line_indent = Pt(size * 2) if indent else Pt(0)
    if align is not None:
        pf.alignment = align
    # the default template draws a rule under the title; a notice has none
    from docx.oxml.ns import qn

    ppr = st.element.pPr
    if ppr is not None:
        for bdr in ppr.findall(qn("w:pBdr")):
            ppr.remove(bdr)
    return st


def _doc_defaults(d) -> None:
    """Chinese as the East-Asian language and 仿宋_GB2312 as the default font of the package."""
    from docx.oxml.ns import qn

    styles = d.styles.element
    rpr = styles.find(qn("w:docDefaults") + "/" + qn("w:rPrDefault") + "/" + qn("w:rPr"))
    if rpr is None:
        return
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is not None:
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            rfonts.attrib.pop(qn(attr), None)
        rfonts.set(qn("w:ascii"), FONT_LATIN)
        rfonts.set(qn("w:hAnsi"), FONT_LATIN)
        rfonts.set(qn("w:eastAsia"), FONT_BODY)
    lang = rpr.find(qn("w:lang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")


def to_docx(doc: Doc) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    d = Document()
    sec = d.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin, sec.bottom_margin = Mm(37), Mm(35)
    sec.left_margin, sec.right_margin = Mm(28), Mm(26)
    J, C, R = WD_ALIGN_PARAGRAPH.JUSTIFY, WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT
    _style(d, "Normal", FONT_BODY, 16, align=J)
    _style(d, "Title", FONT_TITLE, 22, align=C, indent=False)
    _style(d, "Heading 1", FONT_H1, 16, align=J)
    _style(d, "Heading 2", FONT_H2, 16, align=J)
    _style(d, "Heading 3", FONT_BODY, 16, bold=True, align=J)
    _style(d, "Issuer", FONT_TITLE, 22, align=C, indent=False, base="Normal")
    _style(d, "Signature", FONT_BODY, 16, align=R, indent=False, base="Normal")
    _style(d, "Table Text", FONT_BODY, 12, align=WD_ALIGN_PARAGRAPH.LEFT, indent=False, base="Normal")
    _style(d, "List Bullet", FONT_BODY, 16, align=J, indent=False)
    for name in ("Heading 1", "Heading 2", "Heading 3", "Title"):
        st = d.styles[name]
        st.paragraph_format.keep_with_next = name != "Title"
        st.paragraph_format.space_after = Pt(0 if name != "Title" else 28)
    _doc_defaults(d)
    d.core_properties.title = doc.title
    d.core_properties.language = doc.lang
    if doc.issuer:
        d.add_paragraph(doc.issuer, style="Issuer")
    d.add_paragraph(doc.title, style="Title")
    for b in doc.blocks:
        if isinstance(b, Heading):
            d.add_paragraph(b.text, style=f"Heading {min(max(b.level, 1), 3)}")
        elif isinstance(b, Para):
            p = d.add_paragraph(style="Normal")
            if b.lead:
                p.add_run(b.lead).bold = True
            p.add_run(b.text)
            if b.align == "center":
                p.alignment = C
            elif b.align == "right":
                p.alignment = R
            if not b.indent or b.align in ("center", "right"):
                p.paragraph_format.first_line_indent = Pt(0)
        elif isinstance(b, Table):
            if b.caption:
                d.add_paragraph(b.caption, style="Heading 3")
            t = d.add_table(rows=1, cols=len(b.columns))
            t.style = d.styles["Table Grid"]
            for cell, text in zip(t.rows[0].cells, b.columns):
                cell.paragraphs[0].style = d.styles["Table Text"]
                cell.paragraphs[0].add_run(str(text)).bold = True
            for row in b.rows:
                cells = t.add_row().cells
                for cell, v in zip(cells, row):
                    cell.paragraphs[0].style = d.styles["Table Text"]
                    cell.paragraphs[0].add_run("" if v is None else str(v))
        elif isinstance(b, Items):
            for item in b.items:
                d.add_paragraph(item, style="List Bullet")
        elif isinstance(b, Signature):
            for i, line in enumerate(b.lines):
                p = d.add_paragraph(line, style="Signature")
                if i == 0:
                    p.paragraph_format.space_before = Pt(28)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()
