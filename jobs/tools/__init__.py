"""One module per tool; each registers its job kinds with ``jobs.kinds.job_kind``.
Every module here is imported by the worker (``jobs.kinds.load_tools``)."""
