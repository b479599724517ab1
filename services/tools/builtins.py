"""Built-in tool implementations and their registry.

A built-in is a name, a description, a JSON-schema signature and an async handler `(context, arguments) -> result`.
The registry is built in `build_services`; other features add theirs with one call, e.g. the knowledge bases:

    services.builtin_tools.register(BuiltinTool(
        key='knowledge_base_search', description='Search a knowledge base you can access.',
        parameters={...}, handler=search_handler))   # handler(context, args): context.actor_id for access checks
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.tools.calculator import evaluate


@dataclass(kw_only=True, slots=True)
class ToolContext:
    """Who is calling: handlers that read user data must check access with this id."""

    actor_id: int


Handler = Callable[[ToolContext, dict[str, Any]], Awaitable[Any]]


@dataclass(kw_only=True, slots=True)
class BuiltinTool:
    key: str
    description: str
    parameters: dict[str, Any]
    handler: Handler = field(repr=False)
    label: str = ''


class BuiltinRegistry:
    def __init__(self) -> None:
        self._tools: dict[str, BuiltinTool] = {}

    def register(self, tool: BuiltinTool) -> None:
        self._tools[tool.key] = tool

    def get(self, key: str) -> BuiltinTool:
        tool = self._tools.get(key)
        if tool is None:
            raise InvalidInput(
                N_('There is no built-in tool "{key}". Available: {tools}.', key=key, tools=', '.join(self._tools))
            )
        return tool

    def all(self) -> list[BuiltinTool]:
        return list(self._tools.values())


# ----- calculator --------------------------------------------------------------------------------------------------
async def _calculate(_: ToolContext, args: dict[str, Any]) -> Any:
    return {'expression': args.get('expression'), 'result': evaluate(str(args.get('expression', '')))}


# ----- date and time -----------------------------------------------------------------------------------------------
async def _now(_: ToolContext, args: dict[str, Any]) -> Any:
    name = str(args.get('timezone') or 'UTC').strip()
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            N_('Unknown time zone "{name}". Use an IANA name like Europe/Berlin or UTC.', name=name[:60])
        ) from None
    now = datetime.now(zone)
    return {
        'timezone': name,
        'iso': now.isoformat(timespec='seconds'),
        'date': now.strftime('%Y-%m-%d'),
        'time': now.strftime('%H:%M:%S'),
        'weekday': now.strftime('%A'),
        'utc_offset': now.strftime('%z'),
    }


# ----- unit conversion ---------------------------------------------------------------------------------------------
# factor to the base unit of each quantity (metre, kilogram, litre)
LENGTH = {'mm': 0.001, 'cm': 0.01, 'm': 1.0, 'km': 1000.0, 'in': 0.0254, 'ft': 0.3048, 'yd': 0.9144, 'mi': 1609.344}
MASS = {'mg': 1e-6, 'g': 0.001, 'kg': 1.0, 't': 1000.0, 'oz': 0.028349523125, 'lb': 0.45359237, 'st': 6.35029318}
VOLUME = {
    'ml': 0.001,
    'cl': 0.01,
    'dl': 0.1,
    'l': 1.0,
    'm3': 1000.0,
    'tsp': 0.00492892159375,
    'tbsp': 0.01478676478125,
    'cup': 0.2365882365,
    'pt': 0.473176473,
    'qt': 0.946352946,
    'gal': 3.785411784,
}
TEMPERATURE = {'c', 'f', 'k'}
ALIASES = {
    'meter': 'm', 'meters': 'm', 'metre': 'm', 'metres': 'm', 'kilometer': 'km', 'kilometers': 'km',
    'kilometre': 'km', 'kilometres': 'km', 'centimeter': 'cm', 'centimeters': 'cm', 'millimeter': 'mm',
    'millimeters': 'mm', 'inch': 'in', 'inches': 'in', 'foot': 'ft', 'feet': 'ft', 'yard': 'yd', 'yards': 'yd',
    'mile': 'mi', 'miles': 'mi', 'gram': 'g', 'grams': 'g', 'kilogram': 'kg', 'kilograms': 'kg', 'kilo': 'kg',
    'kilos': 'kg', 'milligram': 'mg', 'milligrams': 'mg', 'tonne': 't', 'tonnes': 't', 'ounce': 'oz',
    'ounces': 'oz', 'pound': 'lb', 'pounds': 'lb', 'lbs': 'lb', 'stone': 'st', 'liter': 'l', 'liters': 'l',
    'litre': 'l', 'litres': 'l', 'milliliter': 'ml', 'milliliters': 'ml', 'millilitre': 'ml', 'millilitres': 'ml',
    'gallon': 'gal', 'gallons': 'gal', 'pint': 'pt', 'pints': 'pt', 'quart': 'qt', 'quarts': 'qt', 'cups': 'cup',
    'celsius': 'c', '°c': 'c', 'fahrenheit': 'f', '°f': 'f', 'kelvin': 'k',
}  # fmt: skip
QUANTITIES = {'length': LENGTH, 'mass': MASS, 'volume': VOLUME}


def _unit(name: Any) -> str:
    key = str(name or '').strip().lower()
    return ALIASES.get(key, key)


def convert(value: float, source: str, target: str) -> tuple[float, str]:
    """(converted value, quantity name) or InvalidInput."""
    a, b = _unit(source), _unit(target)
    if a in TEMPERATURE and b in TEMPERATURE:
        kelvin = {'c': value + 273.15, 'f': (value - 32) * 5 / 9 + 273.15, 'k': value}[a]
        if kelvin < 0:
            raise InvalidInput(N_('That temperature is below absolute zero.'))
        out = {'c': kelvin - 273.15, 'f': (kelvin - 273.15) * 9 / 5 + 32, 'k': kelvin}[b]
        return round(out, 6), 'temperature'
    for quantity, table in QUANTITIES.items():
        if a in table and b in table:
            return round(value * table[a] / table[b], 9), quantity
    known = sorted({*LENGTH, *MASS, *VOLUME, *TEMPERATURE})
    raise InvalidInput(
        N_(
            'Cannot convert "{source}" to "{target}". Both units must measure the same thing; known units: {known}.',
            source=source,
            target=target,
            known=', '.join(known),
        )
    )


async def _convert(_: ToolContext, args: dict[str, Any]) -> Any:
    try:
        value = float(args.get('value'))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(N_('"value" must be a number.')) from None
    result, quantity = convert(value, str(args.get('from_unit', '')), str(args.get('to_unit', '')))
    return {'value': value, 'from_unit': args.get('from_unit'), 'to_unit': args.get('to_unit'), 'result': result,
            'quantity': quantity}  # fmt: skip


def default_registry() -> BuiltinRegistry:
    registry = BuiltinRegistry()
    registry.register(
        BuiltinTool(
            key='calculator',
            label=N_('Calculator'),
            description=N_('Evaluate an arithmetic expression with + - * / // % ** and parentheses.'),
            parameters={
                'type': 'object',
                'properties': {'expression': {'type': 'string', 'description': 'For example (2 + 3) * 4'}},
                'required': ['expression'],
            },
            handler=_calculate,
        )
    )
    registry.register(
        BuiltinTool(
            key='current_datetime',
            label=N_('Current date and time'),
            description=N_('The current date and time in a time zone (IANA name such as Europe/Berlin).'),
            parameters={
                'type': 'object',
                'properties': {'timezone': {'type': 'string', 'description': 'IANA time zone, e.g. Asia/Tokyo'}},
                'required': ['timezone'],
            },
            handler=_now,
        )
    )
    registry.register(
        BuiltinTool(
            key='convert_units',
            label=N_('Unit conversion'),
            description=N_('Convert a value between units of length, mass, temperature or volume.'),
            parameters={
                'type': 'object',
                'properties': {
                    'value': {'type': 'number', 'description': 'The amount to convert'},
                    'from_unit': {'type': 'string', 'description': 'e.g. km, lb, celsius, l'},
                    'to_unit': {'type': 'string', 'description': 'e.g. mi, kg, fahrenheit, gal'},
                },
                'required': ['value', 'from_unit', 'to_unit'],
            },
            handler=_convert,
        )
    )
    return registry
