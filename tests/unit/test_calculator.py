"""The calculator evaluates arithmetic only: never eval, a whitelist of AST nodes, capped sizes."""

from __future__ import annotations

import time

import pytest

from services.core.errors import InvalidInput
from services.tools.builtins import convert
from services.tools.calculator import CalculatorError, evaluate


@pytest.mark.parametrize(
    ('expression', 'value'),
    [('1 + 2 * 3', 7), ('(1 + 2) * 3', 9), ('7 // 2', 3), ('7 % 4', 3), ('2 ** 10', 1024), ('-3 + +2', -1),
     ('10 / 4', 2.5), ('2^3', 8), ('1.5e3', 1500.0)],
)  # fmt: skip
def test_arithmetic(expression: str, value: float) -> None:
    assert evaluate(expression) == value


@pytest.mark.parametrize(
    'expression',
    [
        '__import__("os").system("id")',  # a call
        'os',  # a name
        '(1).__class__',  # attribute access
        '().__class__.__bases__[0].__subclasses__()',
        '[1, 2][0]',  # subscript / list
        'lambda: 1',
        '"a" * 3',  # strings
        '1 if True else 2',
        '1 < 2',
        'True + 1',  # booleans are not numbers here
        'x := 5',
    ],
)
def test_refuses_anything_but_arithmetic(expression: str) -> None:
    with pytest.raises(CalculatorError):
        evaluate(expression)


@pytest.mark.parametrize('expression', ['9 ** 9 ** 9', '10 ** 100000', '2 ** 5000', '(10 ** 1000) * (10 ** 1000)'])
def test_refuses_huge_exponents_and_results_quickly(expression: str) -> None:
    started = time.perf_counter()
    with pytest.raises(CalculatorError, match=r'limited|too large'):
        evaluate(expression)
    assert time.perf_counter() - started < 0.5


def test_errors_are_friendly() -> None:
    with pytest.raises(CalculatorError, match='Division by zero'):
        evaluate('1 / 0')
    with pytest.raises(CalculatorError, match='not a valid'):
        evaluate('1 +')
    with pytest.raises(CalculatorError, match='real number'):
        evaluate('(-8) ** 0.5')


def test_unit_conversion() -> None:
    assert convert(1, 'km', 'm') == (1000.0, 'length')
    assert convert(100, 'celsius', 'fahrenheit') == (212.0, 'temperature')
    assert convert(1, 'lb', 'g')[0] == pytest.approx(453.59237)
    assert convert(1, 'gal', 'l')[0] == pytest.approx(3.785411784)
    with pytest.raises(InvalidInput, match='same thing'):
        convert(1, 'kg', 'km')
