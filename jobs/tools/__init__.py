"""One module or package per tool; each registers its job kinds with
``jobs.kinds.job_kind`` and, once, the tool itself with ``jobs.registry.register``.
Every module here is imported by the worker and the server (``jobs.kinds.load_tools``):
a tool is found by being here."""
