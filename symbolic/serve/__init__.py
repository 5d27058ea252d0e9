"""``symbolic serve``: the jobs (convert, accompany, continue) as a local web app and HTTP API.

- :mod:`~symbolic.serve.config`: ``ServeConfig`` (limits, folders, workers) and ``JobSettings`` (one job's
  settings as a person gives them, validated before any work).
- :mod:`~symbolic.serve.store`: ``JobStore``, the SQLite table of jobs and their states
  (submitted -> running -> done / failed / cancelled) and the job folders under the data folder.
- :mod:`~symbolic.serve.worker`: ``run_job``, what a worker process does with one job (the model is loaded
  once per process).
- :mod:`~symbolic.serve.queue`: ``JobQueue``, the seam between the app and its workers; ``PoolQueue`` (a pool
  of local processes) is the default.
- :mod:`~symbolic.serve.app`: ``create_app``, the FastAPI app (the API and the page in ``static/``).

FastAPI and uvicorn are imported by :mod:`~symbolic.serve.app` only (the ``serve`` extra).
"""
