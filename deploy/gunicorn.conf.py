"""gunicorn settings for Rectify in production: ``gunicorn -c deploy/gunicorn.conf.py 'web:create_app()'``.

Every value can be changed from the environment (the systemd unit reads them from
``/etc/rectify/rectify.env``); the defaults suit one host behind nginx on the same machine.

====================================  ==========================================================
``RECTIFY_BIND``                      address to listen on (``127.0.0.1:8000``); a reverse proxy
                                      in front terminates TLS
``WEB_CONCURRENCY``                   worker processes (2 × CPUs + 1, at most 8)
``RECTIFY_THREADS``                   threads per worker (1: sync workers; > 1: gthread)
``RECTIFY_TIMEOUT``                   seconds a request may take before its worker is replaced (60)
``RECTIFY_MAX_REQUESTS``              recycle a worker after this many requests, with jitter
                                      (2000; 0 turns recycling off)
``RECTIFY_FORWARDED_ALLOW_IPS``       proxies whose X-Forwarded-* headers gunicorn trusts
                                      (``127.0.0.1``); the app's own ``RECTIFY_PROXY_FIX`` is
                                      what the sign-in rate limit uses
``RECTIFY_LOG_FORMAT`` / ``_LEVEL``   ``json`` or ``text``; level name (see workflow.logging)
``RECTIFY_CONTROL_SOCKET``            path of gunicorn's control socket (off by default)
====================================  ==========================================================

Workers are not preloaded: each builds the app and its own database pool after the fork, so no
connection is ever shared between processes. Database work is short and synchronous, so sync
workers are the default; use threads when slow clients (uploads over a poor network) reach
gunicorn without a buffering proxy.
"""
import multiprocessing
import os
import sys
from pathlib import Path

# the project root on the path, so ``workflow.logging`` imports when gunicorn is started from elsewhere
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflow.logging import gunicorn_logconfig


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"gunicorn.conf.py: {name} must be a whole number, not {raw!r}") from None


bind = os.environ.get("RECTIFY_BIND", "127.0.0.1:8000").split(",")
workers = _int("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8))
threads = _int("RECTIFY_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("RECTIFY_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5
max_requests = _int("RECTIFY_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10 if max_requests else 0
preload_app = False
forwarded_allow_ips = os.environ.get("RECTIFY_FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "rectify-web"
# the workers' heartbeat files on tmpfs, so a slow disk never looks like a hung worker
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# gunicorn 27's control socket lives in $HOME by default, which a hardened unit cannot write and
# two instances on one host would share: off unless a path is given
if os.environ.get("RECTIFY_CONTROL_SOCKET"):
    control_socket = os.environ["RECTIFY_CONTROL_SOCKET"]
else:
    control_socket_disable = True

# request limits (gunicorn's defaults, written out): the upload limit is the app's
limit_request_line = 8190
limit_request_fields = 100

accesslog = "-"
errorlog = "-"
logconfig_dict = gunicorn_logconfig()
