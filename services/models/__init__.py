"""Ollama hosts and models: the host directory (`hosts`), the one model-call path every request to Ollama goes through
(`calls`, with who asks and why in `callers` and its failures in `errors`), the model catalogue (`catalogue`, the one
model list every page and the API use), model administration (`admin`: pull, create, copy, delete, unload), model
names (`names`), the one options table (`options`) with the admin's ranges for them (`option_caps`) and the host
health monitor (`health`).

May import: `services.core`. Only `calls` imports the `ollama` client.
"""
