"""Prompt templates: the library of prompts and their versions (`library`), the safe template renderer and typed
variables (`templates`), and runs and batch runs (`runs`).

May import: `services.core`, `services.models`, `services.tools`. Runs go through `services.models.calls`.
"""
