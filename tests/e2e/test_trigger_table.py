"""The API schema, the CLI options and the measure page's forms come from the trigger table."""
from __future__ import annotations

from click.testing import CliRunner

from web import create_app
from web.api import schemas
from workflow import spec
from workflow.cli import main_group


def test_the_api_body_takes_exactly_the_parameters_the_triggers_declare():
    assert set(schemas.TriggerBody().fields) == set(spec.PARAMS)


def test_the_api_documents_each_parameter_and_the_triggers_that_take_it(sqlite_engine):
    app = create_app({"TESTING": True})
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    body = doc["components"]["schemas"]["TriggerBody"]["properties"]
    assert set(body) == set(spec.PARAMS)
    assert "reopen" in body["category"]["description"] and body["category"]["enum"] == list(spec.REOPEN_CATEGORIES)


def test_the_cli_fire_command_has_an_option_for_every_parameter():
    out = CliRunner().invoke(main_group, ["fire", "--help"]).output
    for name in spec.PARAMS:
        assert f"--{name.replace('_', '-')}" in out
