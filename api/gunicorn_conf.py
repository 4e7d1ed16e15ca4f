"""gunicorn settings for the service: ``gunicorn -c python:api.gunicorn_conf``.

Values come from the environment (``TMS_HOST``, ``TMS_PORT``, ``TMS_WORKERS``, ``TMS_THREADS``,
``TMS_TIMEOUT``; see ``api.config.SERVE_SETTINGS``). The defaults suit 2 cores: 2 sync workers,
each loading the policies once when it starts (no preloading: the rules engine's state belongs to
the process that registered it).
"""

from api.config import serve_settings

_settings = serve_settings()

wsgi_app = "api:create_app()"
bind = f"{_settings['HOST']}:{_settings['PORT']}"
workers = _settings["WORKERS"]
threads = _settings["THREADS"]
worker_class = "gthread" if threads > 1 else "sync"
timeout = _settings["TIMEOUT"]
graceful_timeout = 20
preload_app = False
accesslog = None  # the app writes one JSON line per request itself
errorlog = "-"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "api.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {"gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False}},
}
control_socket_disable = True  # no control socket: nothing uses it, and $HOME may be read-only
