"""A safe arithmetic evaluator: `ast.parse` in eval mode, then a walk over a whitelist of nodes. Never `eval`.

Allowed: int/float literals, + - * / // % **, unary + and -, parentheses. Everything else (names, calls, attributes,
subscripts, comparisons, strings, lambdas, ...) is refused. Exponents and result sizes are capped so that
`9**9**9` or `10**100000` cannot eat the CPU or memory.
"""

from __future__ import annotations

import ast
import math
import operator

from services.core.errors import InvalidInput
from services.core.i18n import N_

MAX_EXPRESSION_CHARS = 500
MAX_EXPONENT = 1000
MAX_INT_BITS = 4096  # about 1233 decimal digits
MAX_DEPTH = 60

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}


class CalculatorError(InvalidInput):
    pass


def evaluate(expression: str) -> int | float:
    """The value of an arithmetic expression, or CalculatorError saying why it is refused."""
    if not isinstance(expression, str) or not expression.strip():
        raise CalculatorError(N_('Give an arithmetic expression, like (2 + 3) * 4.'))
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise CalculatorError(
            N_(
                'The expression is too long (at most {MAX_EXPRESSION_CHARS} characters).',
                MAX_EXPRESSION_CHARS=MAX_EXPRESSION_CHARS,
            )
        )
    text = expression.strip().replace('^', '**').replace('×', '*').replace('÷', '/')
    try:
        tree = ast.parse(text, mode='eval')
    except SyntaxError:
        raise CalculatorError(
            N_('"{expression}" is not a valid arithmetic expression.', expression=expression[:80])
        ) from None
    return _check(_eval(tree.body, 0))


def _check(value: int | float) -> int | float:
    if not isinstance(value, int | float):
        raise CalculatorError(N_('The result is not a real number.'))
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise CalculatorError(N_('The result is too large.'))
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculatorError(N_('The result is not a finite number.'))
    return value


def _eval(node: ast.AST, depth: int) -> int | float:
    if depth > MAX_DEPTH:
        raise CalculatorError(N_('The expression is nested too deeply.'))
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise CalculatorError(N_('Only numbers are allowed (no strings or other values).'))
        return _check(node.value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _check(_UNARY[type(node.op)](_eval(node.operand, depth + 1)))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _eval(node.left, depth + 1)
        right = _eval(node.right, depth + 1)
        if isinstance(node.op, ast.Pow):
            if abs(right) > MAX_EXPONENT:
                raise CalculatorError(N_('Exponents are limited to {MAX_EXPONENT}.', MAX_EXPONENT=MAX_EXPONENT))
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                if left.bit_length() * right > MAX_INT_BITS:
                    raise CalculatorError(N_('The result is too large.'))
        if isinstance(node.op, ast.Mult) and isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
                raise CalculatorError(N_('The result is too large.'))
        try:
            return _check(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise CalculatorError(N_('Division by zero.')) from None
        except OverflowError:
            raise CalculatorError(N_('The result is too large.')) from None
        except (TypeError, ValueError) as exc:
            raise CalculatorError(N_('That calculation is not possible ({exc}).', exc=exc)) from None
    raise CalculatorError(
        N_('Only numbers and + - * / // % ** with parentheses are allowed; "{name}" is not.', name=type(node).__name__)
    )
