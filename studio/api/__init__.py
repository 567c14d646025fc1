"""REST API under /api/v1: one router per tool, mounted by ``studio.server``."""
