"""``rectify serve``: the web app on the development server (production: gunicorn)."""
from __future__ import annotations

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=5000, type=int, show_default=True, help="port to listen on")
@click.option("--debug", is_flag=True, help="reload on code changes and show tracebacks (never in production)")
def serve(host: str, port: int, debug: bool = False):
    """Serve the web app and the API (development server; for production run
    gunicorn 'web:create_app()')."""
    from workflow import db

    from . import create_app

    if not db.has_schema(db.get_engine()):
        raise click.ClickException("the database has no schema: run `rectify init-db` first")
    app = create_app()
    click.echo(f"serving on http://{host}:{port}/ (API docs: http://{host}:{port}/api/v1/docs)", err=True)
    app.run(host=host, port=port, debug=debug, use_reloader=debug, threaded=True)
