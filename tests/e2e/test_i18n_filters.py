"""Label filters follow each request's language, even when applied to a literal."""
from flask import render_template_string

from web import create_app
from workflow import db


def test_label_filter_on_a_literal_follows_each_requests_language(instance):
    db.init_db()
    app = create_app({"TESTING": True})
    template = "{{ 'start'|trigger_label }}/{{ 'closed'|state_label }}"
    with app.test_request_context("/?lang=en"):
        assert render_template_string(template).startswith("Start/")
    with app.test_request_context("/?lang=zh"):
        assert render_template_string(template) == "开始整改/已销号"
    with app.test_request_context("/?lang=en"):
        assert "开始" not in render_template_string(template)
