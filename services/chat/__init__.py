"""Chat: conversations and side-by-side comparisons (`conversations`), their plain data (`types`), the stateless
requests of the REST API and the OpenAI gateway (`inference`) and the function-calling loop (`tool_loop`).

May import: `services.core`, `services.models`, `services.tools`, `services.prompts`. Model calls go through
`services.models.calls`.
"""
