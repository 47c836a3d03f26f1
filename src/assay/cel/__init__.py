"""CEL conditions (``where``, ``assert``): compiled once, evaluated per evidence record.

Every expression is first compiled by the real CEL parser (the ``cel`` package), so
syntax errors always come from it. A small Pratt parser then reads the same text and,
when every construct is one whose semantics it reproduces exactly, compiles it to a
tree of Python closures (the *fast path*, ~10-20x faster than converting each record
for ``cel``). Anything else runs on the ``cel.Program``.

The fast path matches the ``cel`` package (0.10), not an idealised CEL, because the
two paths must agree; the differential test checks that. Points worth knowing:

* selecting a missing key/field is an error; a field whose value is None is ``null``;
* ``has(x.f)`` is true when the key/field exists, *even when its value is null* (the
  package's behaviour for dict keys; our models reach ``cel`` as dicts), so a policy
  tests an optional field with ``x.f != null``;
* ``&&``/``||`` absorb an error (or non-bool) on either side when the other side
  decides the result; ``all``/``exists`` do *not*: they stop at the first error;
* int and double compare and test equal numerically (the int is converted to double);
  arithmetic never mixes them;
* ``size()`` of a string counts UTF-8 bytes in the package, so non-ASCII strings are
  handed to it rather than guessed.

When a closure meets a value combination it is not sure about, it raises ``_Unsure``
and that evaluation is re-run on ``cel``: the fast path can only be faster, never
different.
"""

from .errors import ExpressionRuntimeError, ExpressionSyntaxError
from .expression import Expression, compile_expression
from .parser import logic_parts
from .values import to_cel_value

__all__ = [
    "Expression",
    "ExpressionRuntimeError",
    "ExpressionSyntaxError",
    "compile_expression",
    "logic_parts",
    "to_cel_value",
]
