"""The job system: queue, job records, progress, worker.

Use ``jobs.queue.submit / cancel / retry`` and ``jobs.store.get_job /
list_jobs``. Nothing here imports gradio; pipelines are imported only inside
job bodies (``jobs/tools``).
"""
