"""Prometheus figures of every server process on one database (docs/scale.md, "Metrics").

Each process keeps its own figures (its live rooms', ``live_rooms``; its HTTP requests',
``http_figures``) and, on PostgreSQL, publishes them every second as a row of
``metrics_snapshots`` (``shared``); ``GET /metrics`` of any process lists every process's fresh
figures, each series labelled with its ``process``, plus the queue's figures, which are the whole
desk's wherever they are read (``exposition``).
"""
