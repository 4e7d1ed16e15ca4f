"""gunicorn settings for the baseline app: the service's own (``api/gunicorn_conf.py``), another app."""

from api.gunicorn_conf import *  # noqa: F403  (the same workers, threads, timeout, bind and logging)

wsgi_app = "benchmarks.baseline_app:create_app()"
