"""Tools for function calling: tool definitions and their execution (`library`), JSON schemas (`schema`), HTTP tools
(`http`), built-in tools (`builtins`, `calculator`).

May import: `services.core`, `services.models`. (The loop that lets a model call tools is `services.chat.tool_loop`.)
"""
