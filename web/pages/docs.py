"""Documents on pages: a :class:`workflow.render.Doc` shown in a page (``pages/_document.html``) or
sent as a file (.docx, or the print-ready standalone .html)."""
from __future__ import annotations

import io

from flask import send_file

from workflow import publication, render

DOWNLOADS = ("docx", "html")
MIMETYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
}


def shown(doc: render.Doc) -> dict:
    """The document as the page template reads it: ``{title, issuer, blocks: [{type, …}]}``."""
    return publication.as_dict(doc)


def send_document(doc: render.Doc, fmt: str, stem: str):
    """The document as a download named ``stem.fmt`` (an attachment: the standalone HTML carries its
    own print styles, which this site's pages may not)."""
    data = render.render(doc, fmt)
    return send_file(io.BytesIO(data), mimetype=MIMETYPES[fmt], as_attachment=True, download_name=f"{stem}.{fmt}")
