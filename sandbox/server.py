"""Serve the app under gunicorn (a production WSGI server), in one process.

One worker on purpose: state is in memory, so several worker processes would each hold
different data (a freshly created id answered 404 on 7 of 10 reads with 4 workers).
Threads keep slow clients from blocking others; handlers run under a workspace lock.
"""
from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def serve(app: Flask, host: str, port: int, threads: int = 4, access_log: bool = False) -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": threads,
        "preload_app": True,
        "timeout": 60,
        "limit_request_line": 0,  # no 414: an over-long query gets the API's own 400
        "limit_request_field_size": 65536,
        "graceful_timeout": 5,
        "accesslog": "-" if access_log else None,
        "loglevel": "warning",
    }
    _Gunicorn(app, options).run()
