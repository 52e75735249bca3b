"""One small expression language over the sheets: claims, rules, filters and headline figures.

A project states what it counts, filters and checks in this language; evsynth
never evaluates Python. The text is read by a hand-written recursive-descent
parser (no ``eval``, no third-party parser) into a tree of the nodes below, and
the tree is evaluated over typed rows (mappings of column -> ``int``,
``float``, ``str``, or ``None`` for an empty cell). docs/expressions.md is the
reference with examples; in short::

    count(studies)                                  rows of a sheet
    count(arms where n >= 2)                        rows that meet a condition
    sum(arms.n where mixed == "no")
    min(...), max(...), one(...)                    the smallest, largest, only value
    values(100 * arms.responders / arms.n where study_id.reference in [11, 12])
    distinct(arms.study_id.reference where treatment has "B")       a set of values
    distinct(arms.treatment, arms.mixed)            a set of pairs, printed "A/no"
    top(2, arms.treatment by arms.n)                the 2 values with the largest sums
    pooled(response), pooled(response).ci_lower, pooled(response).ci_upper, crude(response), k(response)

A condition (after ``where``, or alone: :func:`parse_condition`) is made of
``==  !=  <  <=  >  >=``, ``in [..]``, ``not in [..]``, ``is empty``,
``is not empty``, ``has`` (an item of a list cell), ``contains`` (text,
ignoring case), ``and``, ``or``, ``not`` and parentheses; arithmetic is
``+ - * /`` on numbers, and ``coalesce(a, b, ..)`` is the first non-empty value.

Names: in ``SHEET.COLUMN`` (the value an aggregate reads) the first name is the
sheet. In a condition a bare ``COLUMN`` is a column of the row being tested;
``COLUMN.OTHER`` follows the column's declared reference (``ref =
"sheet.column"`` in sheets.toml) to the row it names and reads ``OTHER``
there (``study_id.reference``, ``arm_id.study_id.reference``); and
``SHEET.COLUMN`` names the row of ``SHEET`` an enclosing aggregate is testing
(a correlated condition: ``count(patients where count(procedures
where patient_id == patients.patient_id) > 1)``). A name that is not a
plain word (a keyword, spaces, '-') is written between backticks, as
docs/expressions.md shows.

Empty cells: an empty value equals nothing (``x == "a"`` and ``x < 3`` are false,
``x != "a"`` is true; test it with ``is empty``); arithmetic with an empty value is
empty; an aggregate never skips an empty value silently: summing, ranking or
listing one is an error naming the sheet, unless the condition leaves its row
out (``where patients is not empty``). ``min``/``max`` over no row are empty;
``sum`` and ``count`` over no row are 0.

Every mistake is one :class:`ExpressionError` with the character offset where
it is (``message (at character N)``), so a caller reports ``FILE:LINE`` or
``FILE:ROW:COLUMN``. :func:`check` finds unknown sheets, columns, references,
outcomes and values, and type mistakes, against the declared sheets
(:class:`evsynth.sheets.spec.SheetSet`) before anything is evaluated.
Outcome figures (``pooled``, ``crude``, ``k``) come from the caller through
:class:`Context` (:class:`OutcomeFigures`), so this module needs nothing
above the sheets.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from evsynth.core.errors import EvsynthError
from evsynth.sheets.spec import Field, NUMERIC_KINDS, SheetSet, SheetSpec

#: The longest expression accepted (characters).
MAX_LENGTH = 10_000
#: The deepest nesting accepted (parentheses, ``not``, signs, function calls).
MAX_DEPTH = 32
#: The deepest tree accepted (operations inside one another, e.g. a chain of ``+``).
MAX_TREE_DEPTH = 100
#: Reserved words (a column with such a name is written in backticks).
KEYWORDS = frozenset({"and", "or", "not", "in", "is", "empty", "where", "by", "has", "contains"})
#: Aggregates over the rows of one sheet.
AGGREGATES = ("count", "sum", "min", "max", "one", "values", "distinct", "top")
#: Figures of an outcome of the analysis plan.
OUTCOME_FUNCTIONS = ("pooled", "crude", "k")
#: Functions of values.
VALUE_FUNCTIONS = ("coalesce",)
FUNCTIONS = AGGREGATES + OUTCOME_FUNCTIONS + VALUE_FUNCTIONS
#: Fields of ``pooled(OUTCOME)``.
POOLED_FIELDS = ("ci_lower", "ci_upper")
#: Separators of the items of a list cell (types ``choices``, ``combination``, ``refs``).
ITEM_SEPARATORS = re.compile(r"[;+]")
#: The key under which a row may carry its spreadsheet row number (for messages; not a column).
ROW_KEY = "_row"
#: Column types whose cells are lists of items (what ``has`` reads).
LIST_KINDS = frozenset({"choices", "combination", "refs"})

Value = Any


class ExpressionError(EvsynthError):
    """A mistake in an expression, or a value it cannot compute; ``offset`` is 0-based."""

    def __init__(self, message: str, offset: int = 0) -> None:
        self.message = message
        self.offset = offset
        super().__init__(f"{message} (at character {offset + 1})")


# ---------------------------------------------------------------- what the caller supplies

class OutcomeFigures(Protocol):
    """The figures of one outcome's primary analysis, in percent (``None`` where there is none)."""

    @property
    def estimate(self) -> float | None: ...      # the primary estimate (the plan's model), percent

    @property
    def ci_lower(self) -> float | None: ...

    @property
    def ci_upper(self) -> float | None: ...

    @property
    def crude(self) -> float | None: ...         # Σ events / Σ patients, percent

    @property
    def k(self) -> int: ...                      # rows (studies) in the primary analysis


class Context(Protocol):
    """What an expression reads: typed rows of the sheets, their references and outcome figures.

    :class:`SheetData` is the ready-made one; ``rows`` and ``outcome`` raise
    ``KeyError`` for an unknown sheet or outcome.
    """

    def rows(self, sheet: str) -> Sequence[Mapping[str, Any]]: ...

    def reference(self, sheet: str, column: str) -> tuple[str, str] | None: ...

    def find(self, sheet: str, column: str, value: Any) -> Mapping[str, Any] | None: ...

    def outcome(self, key: str) -> OutcomeFigures: ...


class SheetData:
    """A :class:`Context` over rows in memory.

    *rows*: sheet -> typed rows (every row holds every column; see :func:`typed_row`);
    *sheets*: the declared sheets, whose ``ref`` columns can be followed;
    *outcomes*: outcome key -> figures, or a function giving them (called once per key).
    """

    def __init__(self, rows: Mapping[str, Sequence[Mapping[str, Any]]], sheets: SheetSet | None = None,
                 outcomes: Mapping[str, OutcomeFigures] | Callable[[str], OutcomeFigures] | None = None) -> None:
        self._rows = rows
        self._sheets = sheets
        self._outcomes = outcomes
        self._figures: dict[str, OutcomeFigures] = {}
        self._index: dict[tuple[str, str], dict[Any, Mapping[str, Any]]] = {}

    def rows(self, sheet: str) -> Sequence[Mapping[str, Any]]:
        return self._rows[sheet]

    def reference(self, sheet: str, column: str) -> tuple[str, str] | None:
        if self._sheets is None or not self._sheets.has(sheet):
            return None
        spec = self._sheets.get(sheet)
        if column not in spec.columns or not spec.field(column).ref:
            return None
        other, _, target = spec.field(column).ref.partition(".")
        return other, target

    def find(self, sheet: str, column: str, value: Any) -> Mapping[str, Any] | None:
        """The first row of *sheet* whose *column* holds *value* (compared as the sheet's text:
        ``12`` finds ``"12"``, as the sheet engine's reference check compares them)."""
        key = (sheet, column)
        if key not in self._index:
            index: dict[Any, Mapping[str, Any]] = {}
            for row in self._rows[sheet]:
                if row.get(column) is not None:
                    index.setdefault(_as_text(row[column]), row)
            self._index[key] = index
        return self._index[key].get(_as_text(value))

    def outcome(self, key: str) -> OutcomeFigures:
        if key not in self._figures:
            if self._outcomes is None:
                raise KeyError(key)
            self._figures[key] = (self._outcomes(key) if callable(self._outcomes)
                                  else self._outcomes[key])
        return self._figures[key]


def _as_text(value: Any) -> str:
    """A value as a sheet's cell text (``12.0`` -> ``"12"``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def typed_value(f: Field, text: str | None) -> Any:
    """A cell's text as its declared type: ``int``, ``float`` or ``str``; ``None`` when empty."""
    if text is None:
        return None
    if not isinstance(text, str):
        return text
    text = text.strip()
    if not text:
        return None
    if f.kind == "int":
        return int(text)
    if f.kind == "number":
        return float(text)
    return text


def typed_row(spec: SheetSpec, record: Mapping[str, str | None]) -> dict[str, Any]:
    """A row of cell texts (a valid sheet's) as typed values, with every declared column."""
    return {f.name: typed_value(f, record.get(f.name)) for f in spec.fields}


# ---------------------------------------------------------------- tokens

@dataclass(frozen=True)
class Token:
    kind: str          # name, qname (backticks), number, string, op, end
    text: str
    offset: int
    value: Any = None


_OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ",", ".")
_HINTS = {"=": "use '==' to compare", "&": "use 'and'", "|": "use 'or'", "!": "use 'not' or '!='",
          "'": "a text starts and ends with the same quote", '"': "a text starts and ends with the same quote"}
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _tokens(text: str) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
            continue
        if c in "0123456789":
            match = _NUMBER.match(text, i)
            assert match is not None
            if match.end() < n and (text[match.end()].isalpha() or text[match.end()] == "_"):
                raise ExpressionError(f"unexpected {text[match.end()]!r} after the number {match.group()}",
                                      match.end())
            digits = match.group()
            if len(digits) > 30:
                raise ExpressionError("a number of more than 30 characters", i)
            value: Any = float(digits) if match.group(1) else int(digits)
            out.append(Token("number", digits, i, value))
            i = match.end()
            continue
        if c.isalpha() or c == "_" or c.isdigit():
            match = _WORD.match(text, i)
            if match is None:  # a letter outside ASCII
                raise ExpressionError(f"unexpected character {c!r} (write such a name in backticks)", i)
            out.append(Token("name", match.group(), i, match.group()))
            i = match.end()
            continue
        if c in "\"'":
            value_chars: list[str] = []
            j = i + 1
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n and text[j + 1] in (c, "\\"):
                    j += 1
                if text[j] in "\r\n":
                    break
                value_chars.append(text[j])
                j += 1
            if j >= n or text[j] != c:
                raise ExpressionError(f"text opened with {c} is not closed", i)
            out.append(Token("string", text[i:j + 1], i, "".join(value_chars)))
            i = j + 1
            continue
        if c == "`":
            end = text.find("`", i + 1)
            name = text[i + 1:end] if end > 0 else ""
            if end < 0 or "\n" in name:
                raise ExpressionError("a name opened with ` is not closed", i)
            if not name.strip():
                raise ExpressionError("an empty name in backticks", i)
            out.append(Token("qname", text[i:end + 1], i, name))
            i = end + 1
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op is None:
            hint = _HINTS.get(c)
            shown = repr(c) if c.isprintable() else f"U+{ord(c):04X}"
            raise ExpressionError(f"unexpected character {shown}" + (f" ({hint})" if hint else ""), i)
        out.append(Token("op", op, i))
        i += len(op)
    out.append(Token("end", "", n))
    return out


# ---------------------------------------------------------------- the tree

@dataclass(frozen=True)
class Node:
    offset: int


@dataclass(frozen=True)
class Literal(Node):
    value: Any


@dataclass(frozen=True)
class Column(Node):
    """A column: ``path[0]`` of a row, then each further name through the declared reference.

    ``own`` (``SHEET.COLUMN`` as an aggregate's value): the row of the aggregate
    whose sheet is ``sheet``. Otherwise (a condition's name) ``path[0]`` is a
    column of the row being tested, or else the sheet of an enclosing row.
    """

    path: tuple[str, ...]
    sheet: str = ""
    own: bool = False


@dataclass(frozen=True)
class Unary(Node):
    op: str            # "-" or "not"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str            # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Logical(Node):
    op: str            # and, or (every operand a condition; evaluated left to right, stopping early)
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Compare(Node):
    op: str            # == != < <= > >=
    left: Node
    right: Node


@dataclass(frozen=True)
class InList(Node):
    operand: Node
    items: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class IsEmpty(Node):
    operand: Node
    negated: bool


@dataclass(frozen=True)
class Has(Node):
    operand: Node
    item: Literal


@dataclass(frozen=True)
class Contains(Node):
    operand: Node
    text: Literal


@dataclass(frozen=True)
class Coalesce(Node):
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Aggregate(Node):
    """``count(SHEET where C)``, ``sum/min/max/one/values/distinct(ITEMS where C)``, ``top(N, ITEM by W where C)``."""

    function: str
    sheet: str
    items: tuple[Node, ...] = ()
    where: Node | None = None
    weight: Node | None = None
    n: int = 0
    sheet_offset: int = 0


@dataclass(frozen=True)
class OutcomeFigure(Node):
    function: str      # pooled, crude, k
    key: str
    field: str = ""    # ci_lower / ci_upper (pooled only)


# ---------------------------------------------------------------- parsing

_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


class _Parser:
    def __init__(self, text: str, row_mode: bool) -> None:
        if len(text) > MAX_LENGTH:
            raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters", MAX_LENGTH)
        self.tokens = _tokens(text)
        self.i = 0
        self.depth = 0
        #: The scope names are read in: "top" (none), "row" (a condition), "item" (an aggregate's value).
        self.mode = "row" if row_mode else "top"
        #: The sheet of the aggregate whose value is being read ("" until its first column), and where it is named.
        self.item_sheet = ""
        self.item_offset = 0

    # -- tokens
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def at_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def at_word(self, *words: str) -> bool:
        return self.tok.kind == "name" and self.tok.text in words

    def expect_op(self, op: str, what: str) -> Token:
        if not self.at_op(op):
            raise self.unexpected(f"expected '{op}' {what}")
        return self.take()

    def unexpected(self, expected: str) -> ExpressionError:
        t = self.tok
        found = "the end of the expression" if t.kind == "end" else repr(t.text)
        return ExpressionError(f"{expected}, found {found}", t.offset)

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"nested more than {MAX_DEPTH} levels deep", self.tok.offset)

    # -- grammar
    def parse(self) -> Node:
        node = self.disjunction()
        if self.tok.kind != "end":
            if self.at_op(")"):
                raise ExpressionError("')' without a matching '('", self.tok.offset)
            raise self.unexpected("expected an operator or the end of the expression")
        return node

    def disjunction(self) -> Node:
        first = self.conjunction()
        operands = [first]
        while self.at_word("or"):
            self.take()
            operands.append(self.conjunction())
        return Logical(first.offset, "or", tuple(operands)) if len(operands) > 1 else first

    def conjunction(self) -> Node:
        first = self.negation()
        operands = [first]
        while self.at_word("and"):
            self.take()
            operands.append(self.negation())
        return Logical(first.offset, "and", tuple(operands)) if len(operands) > 1 else first

    def negation(self) -> Node:
        if self.at_word("not"):
            at = self.take().offset
            self.deeper()
            node = Unary(at, "not", self.negation())
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> Node:
        left = self.additive()
        t = self.tok
        if self.at_op(*_COMPARISONS):
            self.take()
            node: Node = Compare(t.offset, t.text, left, self.additive())
        elif self.at_word("in"):
            self.take()
            node = InList(t.offset, left, self.literal_list(), False)
        elif self.at_word("not") and self.tokens[self.i + 1].kind == "name" and self.tokens[self.i + 1].text == "in":
            self.i += 2
            node = InList(t.offset, left, self.literal_list(), True)
        elif self.at_word("is"):
            self.take()
            negated = self.at_word("not")
            if negated:
                self.take()
            if not self.at_word("empty"):
                raise self.unexpected("expected 'empty' after 'is'" + (" not" if negated else ""))
            self.take()
            node = IsEmpty(t.offset, left, negated)
        elif self.at_word("has"):
            self.take()
            node = Has(t.offset, left, self.literal("after 'has'"))
        elif self.at_word("contains"):
            self.take()
            text = self.literal("after 'contains'")
            if not isinstance(text.value, str):
                raise ExpressionError("'contains' needs a text in quotes", text.offset)
            node = Contains(t.offset, left, text)
        else:
            return left
        if self.at_op(*_COMPARISONS) or self.at_word("in", "is", "has", "contains"):
            raise ExpressionError("comparisons do not chain: join them with 'and'", self.tok.offset)
        return node

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.at_op("+", "-"):
            t = self.take()
            node = Binary(t.offset, t.text, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while self.at_op("*", "/"):
            t = self.take()
            node = Binary(t.offset, t.text, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at_op("-", "+"):
            t = self.take()
            self.deeper()
            operand = self.unary()
            self.depth -= 1
            if t.text == "+":
                return operand
            if isinstance(operand, Literal) and isinstance(operand.value, (int, float)):
                return Literal(t.offset, -operand.value)
            return Unary(t.offset, "-", operand)
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        if self.at_op("["):
            raise ExpressionError("a list [...] is written only after 'in' or 'not in'", self.tok.offset)
        if self.at_op("."):
            dot = self.take()
            name = self.tok
            if name.kind not in ("name", "qname"):
                raise self.unexpected("expected a name after '.'")
            self.take()
            if not (isinstance(node, OutcomeFigure) and node.function == "pooled" and not node.field):
                raise ExpressionError(f"'.{name.value}' cannot follow this value: only pooled(OUTCOME) has "
                                      "fields (.ci_lower, .ci_upper)", dot.offset)
            if name.value not in POOLED_FIELDS:
                raise ExpressionError(f"pooled(...) has no field {name.value!r} (known: ci_lower, ci_upper)",
                                      name.offset)
            node = OutcomeFigure(node.offset, "pooled", node.key, name.value)
            if self.at_op("."):
                raise ExpressionError(f"'.' cannot follow pooled(...).{name.value}", self.tok.offset)
        return node

    def primary(self) -> Node:
        t = self.tok
        if t.kind in ("number", "string"):
            self.take()
            return Literal(t.offset, t.value)
        if self.at_op("("):
            self.take()
            self.deeper()
            node = self.disjunction()
            self.depth -= 1
            if not self.at_op(")"):
                raise self.unexpected("expected ')' to close the '(' at character " + str(t.offset + 1))
            self.take()
            return node
        if self.at_op("["):
            raise ExpressionError("a list [...] is written only after 'in' or 'not in'", t.offset)
        if t.kind == "name" and t.text in KEYWORDS:
            raise self.unexpected("expected a value")
        if t.kind == "name" and self.tokens[self.i + 1].kind == "op" and self.tokens[self.i + 1].text == "(":
            return self.call()
        if t.kind in ("name", "qname"):
            return self.column()
        raise self.unexpected("expected a value")

    def name(self, what: str) -> Token:
        t = self.tok
        if t.kind == "qname":
            return self.take()
        if t.kind == "name":
            if t.text in KEYWORDS:
                raise ExpressionError(f"{t.text!r} is a keyword; write a {what} of that name in backticks", t.offset)
            return self.take()
        raise self.unexpected(f"expected a {what}")

    def column(self) -> Column:
        first = self.name("column")
        path = [first.value]
        while self.at_op(".") and self.tokens[self.i + 1].kind in ("name", "qname"):
            self.take()
            path.append(self.name("column").value)
        if self.mode == "top":
            raise ExpressionError(f"{'.'.join(path)!r}: a column is read inside an aggregate, e.g. "
                                  f"sum(SHEET.COLUMN) or count(SHEET where COLUMN ...)", first.offset)
        if self.mode == "item":
            if len(path) < 2:
                raise ExpressionError(f"{first.value!r}: name the sheet of the value an aggregate reads "
                                      "(SHEET.COLUMN)", first.offset)
            if self.item_sheet and path[0] != self.item_sheet:
                raise ExpressionError(f"an aggregate reads one sheet: {self.item_sheet!r} and {path[0]!r}",
                                      first.offset)
            if not self.item_sheet:
                self.item_sheet, self.item_offset = path[0], first.offset
            return Column(first.offset, tuple(path[1:]), path[0], True)
        return Column(first.offset, tuple(path))

    def literal(self, where: str) -> Literal:
        t = self.tok
        sign = 1
        if self.at_op("-"):
            self.take()
            sign = -1
        if self.tok.kind == "number":
            return Literal(t.offset, sign * self.take().value)
        if self.tok.kind == "string" and sign == 1:
            return Literal(t.offset, self.take().value)
        raise self.unexpected(f"expected a number or a text in quotes {where}")

    def literal_list(self) -> tuple[Literal, ...]:
        self.expect_op("[", "after 'in' (a list of values: in [\"a\", \"b\"])")
        items: list[Literal] = []
        while not self.at_op("]"):
            items.append(self.literal("in the list"))
            if not self.at_op(","):
                break
            self.take()
        self.expect_op("]", "to close the list")
        return tuple(items)

    def call(self) -> Node:
        t = self.take()
        self.take()  # '('
        if t.text not in FUNCTIONS:
            raise ExpressionError(f"unknown function {t.text!r} (known: {', '.join(FUNCTIONS)})", t.offset)
        self.deeper()
        if t.text in OUTCOME_FUNCTIONS:
            key = self.tok
            if key.kind not in ("name", "qname", "string"):
                raise self.unexpected(f"expected the key of an outcome of the analysis plan in {t.text}(...)")
            self.take()
            node: Node = OutcomeFigure(t.offset, t.text, str(key.value))
        elif t.text == "coalesce":
            args = [self.disjunction()]
            while self.at_op(","):
                self.take()
                args.append(self.disjunction())
            if len(args) < 2:
                raise ExpressionError("coalesce(...) needs two values or more", t.offset)
            node = Coalesce(t.offset, tuple(args))
        else:
            node = self.aggregate(t)
        self.expect_op(")", f"to close {t.text}(")
        self.depth -= 1
        return node

    def aggregate(self, t: Token) -> Aggregate:
        saved = (self.mode, self.item_sheet, self.item_offset)
        if t.text == "count":
            sheet_token = self.name("sheet")
            sheet, n, items, weight = sheet_token.value, 0, (), None
            if self.at_op("."):
                raise ExpressionError("count(...) counts the rows of a sheet: count(SHEET) or "
                                      "count(SHEET where CONDITION)", self.tok.offset)
        else:
            n = 0
            if t.text == "top":
                count = self.tok
                if count.kind != "number" or not isinstance(count.value, int) or count.value < 1:
                    raise self.unexpected("expected how many (a whole number >= 1) first in top(N, ...)")
                n = self.take().value
                self.expect_op(",", "after the number in top(N, SHEET.COLUMN ...)")
            self.mode, self.item_sheet = "item", ""
            item_list = [self.additive()]
            while self.at_op(",") and t.text == "distinct":
                self.take()
                item_list.append(self.additive())
            weight = None
            if t.text == "top" and self.at_word("by"):
                self.take()
                weight = self.additive()
            sheet, items = self.item_sheet, tuple(item_list)
            if not sheet:
                raise ExpressionError(f"{t.text}(...) needs a column of a sheet (SHEET.COLUMN)", t.offset)
            if self.at_op(","):
                raise ExpressionError(f"{t.text}(...) reads one value (only distinct(...) reads several)",
                                      self.tok.offset)
            sheet_token = Token("name", sheet, self.item_offset, sheet)
        where = None
        if self.at_word("where"):
            self.take()
            self.mode = "row"
            where = self.disjunction()
        self.mode, self.item_sheet, self.item_offset = saved
        return Aggregate(t.offset, t.text, sheet, items, where, weight, n, sheet_token.offset)


def _parse(text: str, row_mode: bool) -> Node:
    if not isinstance(text, str):
        raise ExpressionError("an expression must be text", 0)
    if not text.strip():
        raise ExpressionError("the expression is empty", 0)
    tree = _Parser(text, row_mode).parse()
    _check_depth(tree)
    return tree


def _children(node: Node) -> Iterator[Node]:
    for value in node.__dict__.values():
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            yield from (item for item in value if isinstance(item, Node))


def _check_depth(tree: Node) -> None:
    """Refuse a tree deeper than :data:`MAX_TREE_DEPTH` (a long chain of ``+ - * /``), without recursion."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            raise ExpressionError(f"more than {MAX_TREE_DEPTH} operations inside one another (a chain of "
                                  "+ - * / that long cannot be meant)", node.offset)
        stack.extend((child, depth + 1) for child in _children(node))


# ---------------------------------------------------------------- evaluation

@dataclass(frozen=True)
class _Scope:
    sheet: str
    row: Mapping[str, Any]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _shown(v: Any) -> str:
    return "empty" if v is None else repr(v)


def _items(value: Any) -> list[str]:
    return [p.strip() for p in ITEM_SEPARATORS.split(str(value)) if p.strip()]


def _row_name(scope: _Scope) -> str:
    """``row 7 of 'arms'`` (the spreadsheet row, when the rows carry it as ``_row``)."""
    row = scope.row.get(ROW_KEY)
    return f"row {row} of {scope.sheet!r}" if row is not None else f"a row of {scope.sheet!r}"


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    if _is_number(a) and _is_number(b):
        return float(a) == float(b)
    return type(a) is type(b) and a == b


class _Evaluator:
    def __init__(self, context: Context | None) -> None:
        self.context = context

    def rows(self, sheet: str, at: int) -> Sequence[Mapping[str, Any]]:
        if self.context is None:
            raise ExpressionError(f"{sheet!r}: no sheets to read here", at)
        try:
            return self.context.rows(sheet)
        except KeyError:
            raise ExpressionError(f"no sheet named {sheet!r}", at) from None

    def value(self, node: Node, scopes: tuple[_Scope, ...]) -> Any:
        method = getattr(self, f"_{type(node).__name__}")
        return method(node, scopes)

    def condition(self, node: Node, scopes: tuple[_Scope, ...]) -> bool:
        value = self.value(node, scopes)
        if not isinstance(value, bool):
            raise ExpressionError(f"a condition must be true or false, not {_shown(value)} "
                                  "(compare it: ==, <, in [...], is empty)", node.offset)
        return value

    # -- nodes
    def _Literal(self, node: Literal, scopes: tuple[_Scope, ...]) -> Any:
        return node.value

    def _Column(self, node: Column, scopes: tuple[_Scope, ...]) -> Any:
        if not scopes:
            raise ExpressionError(f"{'.'.join(node.path)!r}: no row to read a column of", node.offset)
        scope, path = scopes[-1], node.path
        if not node.own and path[0] not in scope.row:
            outer = next((s for s in reversed(scopes) if s.sheet and s.sheet == path[0]), None)
            if outer is None or len(path) < 2:
                where = f" of {scope.sheet!r}" if scope.sheet else ""
                raise ExpressionError(f"unknown column {path[0]!r}{where}", node.offset)
            scope, path = outer, path[1:]
        row, sheet = scope.row, scope.sheet
        if path[0] not in row:
            raise ExpressionError(f"unknown column {path[0]!r} of {sheet!r}", node.offset)
        value = row[path[0]]
        for previous, name in zip(path, path[1:]):
            ref = self.context.reference(sheet, previous) if self.context is not None and sheet else None
            if ref is None:
                raise ExpressionError(f"{sheet}.{previous} declares no reference (ref = \"sheet.column\") "
                                      f"to follow to {name!r}", node.offset)
            if value is None:
                return None
            assert self.context is not None
            target = self.context.find(ref[0], ref[1], value)
            if target is None:
                raise ExpressionError(f"{sheet}.{previous} = {value!r} names no row of {ref[0]!r}", node.offset)
            if name not in target:
                raise ExpressionError(f"unknown column {name!r} of {ref[0]!r}", node.offset)
            sheet, value = ref[0], target[name]
        return value

    def _Unary(self, node: Unary, scopes: tuple[_Scope, ...]) -> Any:
        if node.op == "not":
            return not self.condition(node.operand, scopes)
        value = self.value(node.operand, scopes)
        if value is None:
            return None
        if not _is_number(value):
            raise ExpressionError(f"'-' needs a number, not {_shown(value)}", node.offset)
        return -value

    def _Logical(self, node: Logical, scopes: tuple[_Scope, ...]) -> bool:
        if node.op == "and":
            return all(self.condition(o, scopes) for o in node.operands)
        return any(self.condition(o, scopes) for o in node.operands)

    def _Binary(self, node: Binary, scopes: tuple[_Scope, ...]) -> Any:
        a, b = self.value(node.left, scopes), self.value(node.right, scopes)
        if a is None or b is None:
            return None
        if not (_is_number(a) and _is_number(b)):
            raise ExpressionError(f"'{node.op}' needs numbers, not {_shown(a)} and {_shown(b)}", node.offset)
        if node.op == "+":
            return a + b
        if node.op == "-":
            return a - b
        if node.op == "*":
            return a * b
        if b == 0:
            raise ExpressionError("division by zero", node.offset)
        return a / b

    def _Compare(self, node: Compare, scopes: tuple[_Scope, ...]) -> bool:
        a, b = self.value(node.left, scopes), self.value(node.right, scopes)
        if node.op == "==":
            return _equal(a, b)
        if node.op == "!=":
            return not _equal(a, b)
        if a is None or b is None:
            return False
        if not ((_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str))):
            raise ExpressionError(f"'{node.op}' compares numbers or texts, not {_shown(a)} and {_shown(b)}",
                                  node.offset)
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node.op]

    def _InList(self, node: InList, scopes: tuple[_Scope, ...]) -> bool:
        value = self.value(node.operand, scopes)
        found = any(_equal(value, item.value) for item in node.items)
        return found != node.negated

    def _IsEmpty(self, node: IsEmpty, scopes: tuple[_Scope, ...]) -> bool:
        value = self.value(node.operand, scopes)
        empty = value is None or (isinstance(value, str) and not value.strip())
        return empty != node.negated

    def _Has(self, node: Has, scopes: tuple[_Scope, ...]) -> bool:
        value = self.value(node.operand, scopes)
        return value is not None and str(node.item.value) in _items(value)

    def _Contains(self, node: Contains, scopes: tuple[_Scope, ...]) -> bool:
        value = self.value(node.operand, scopes)
        return value is not None and str(node.text.value).casefold() in str(value).casefold()

    def _Coalesce(self, node: Coalesce, scopes: tuple[_Scope, ...]) -> Any:
        for arg in node.args:
            value = self.value(arg, scopes)
            if value is not None:
                return value
        return None

    def _OutcomeFigure(self, node: OutcomeFigure, scopes: tuple[_Scope, ...]) -> Any:
        if self.context is None:
            raise ExpressionError(f"{node.function}({node.key}): no outcome figures here", node.offset)
        try:
            figures = self.context.outcome(node.key)
        except KeyError:
            raise ExpressionError(f"no outcome {node.key!r} in the analysis plan", node.offset) from None
        if node.function == "k":
            return int(figures.k)
        name = {"pooled": node.field or "estimate", "crude": "crude"}[node.function]
        value = getattr(figures, name)
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else value

    def _Aggregate(self, node: Aggregate, scopes: tuple[_Scope, ...]) -> Any:
        chosen = [_Scope(node.sheet, row) for row in self.rows(node.sheet, node.sheet_offset)
                  if node.where is None or self.condition(node.where, scopes + (_Scope(node.sheet, row),))]
        if node.function == "count":
            return len(chosen)

        def item(scope: _Scope, expr: Node, what: str = "value") -> Any:
            value = self.value(expr, scopes + (scope,))
            if value is None:
                raise ExpressionError(f"{node.function}(...): the {what} is empty in {_row_name(scope)} "
                                      "(leave such rows out: where COLUMN is not empty)", expr.offset)
            return value

        if node.function == "distinct":
            found = set()
            for s in chosen:
                values = tuple(item(s, e) for e in node.items)
                found.add(values[0] if len(values) == 1 else values)
            return frozenset(found)
        if node.function == "top":
            totals: dict[Any, float] = {}
            for s in chosen:
                key = item(s, node.items[0])
                weight = 1 if node.weight is None else item(s, node.weight, "weight")
                if not _is_number(weight):
                    raise ExpressionError(f"top(...): the weight must be a number, not {weight!r}",
                                          node.weight.offset if node.weight else node.offset)
                totals[key] = totals.get(key, 0) + weight
            ranked = sorted(totals.items(), key=lambda kv: -kv[1])
            if len(ranked) > node.n and ranked[node.n - 1][1] == ranked[node.n][1]:
                tied = sorted(str(k) for k, v in ranked if v == ranked[node.n][1])
                raise ExpressionError(f"top({node.n}, ...): a tie at place {node.n} "
                                      f"({', '.join(tied)}: {ranked[node.n][1]:g} each)", node.offset)
            return frozenset(k for k, _ in ranked[:node.n])
        values = [item(s, node.items[0]) for s in chosen]
        if node.function == "values":
            return tuple(values)
        if node.function == "one":
            if len(values) != 1:
                raise ExpressionError(f"one(...) needs exactly one row of {node.sheet!r}, "
                                      f"the condition picks {len(values)}", node.offset)
            return values[0]
        kinds = {"number" if _is_number(v) else type(v).__name__ for v in values}
        if node.function == "sum":
            if kinds - {"number"}:
                raise ExpressionError(f"sum(...) adds numbers; {node.sheet!r} gives "
                                      f"{_shown(next(v for v in values if not _is_number(v)))}", node.offset)
            return sum(values)
        if len(kinds) > 1:
            raise ExpressionError(f"{node.function}(...) compares numbers or texts, not both", node.offset)
        if not values:
            return None
        return min(values) if node.function == "min" else max(values)


# ---------------------------------------------------------------- static check

@dataclass
class _Checker:
    sheets: SheetSet
    outcomes: Collection[str] | None
    problems: list[ExpressionError] = field(default_factory=list)

    def error(self, message: str, offset: int) -> None:
        self.problems.append(ExpressionError(message, offset))

    def kind(self, node: Node, scopes: tuple[str, ...]) -> str:
        """Check *node*; its kind: number, text, bool, set, list, or any (unknown)."""
        return getattr(self, f"_{type(node).__name__}")(node, scopes)

    def field_of(self, node: Column, scopes: tuple[str, ...]) -> Field | None:
        if not scopes:
            self.error(f"{'.'.join(node.path)!r}: no row to read a column of", node.offset)
            return None
        sheet, path = scopes[-1], node.path
        if not self.sheets.has(sheet):
            return None  # reported where the sheet is named
        if not node.own and path[0] not in self.sheets.get(sheet).columns:
            outer = next((s for s in reversed(scopes) if s == path[0]), None)
            if outer is None or len(path) < 2:
                self.error(f"unknown column {path[0]!r} of {sheet!r}", node.offset)
                return None
            sheet, path = outer, path[1:]
        spec = self.sheets.get(sheet)
        if path[0] not in spec.columns:
            self.error(f"unknown column {path[0]!r} of {sheet!r}", node.offset)
            return None
        f = spec.field(path[0])
        for name in path[1:]:
            if not f.ref:
                self.error(f"{sheet}.{f.name} declares no reference (ref = \"sheet.column\") to follow "
                           f"to {name!r}", node.offset)
                return None
            sheet = f.ref.partition(".")[0]
            spec = self.sheets.get(sheet)
            if name not in spec.columns:
                self.error(f"unknown column {name!r} of {sheet!r} (followed from {f.name})", node.offset)
                return None
            f = spec.field(name)
        return f

    @staticmethod
    def field_kind(f: Field | None) -> str:
        if f is None:
            return "any"
        return "number" if f.kind in NUMERIC_KINDS else "text"

    def _Literal(self, node: Literal, scopes: tuple[str, ...]) -> str:
        return "number" if _is_number(node.value) else "text"

    def _Column(self, node: Column, scopes: tuple[str, ...]) -> str:
        return self.field_kind(self.field_of(node, scopes))

    def expect(self, node: Node, scopes: tuple[str, ...], wanted: str, what: str) -> str:
        kind = self.kind(node, scopes)
        if kind not in (wanted, "any"):
            self.error(f"{what} needs {_KIND_WORDS[wanted]}, not {_KIND_WORDS[kind]}", node.offset)
        return kind

    def _Unary(self, node: Unary, scopes: tuple[str, ...]) -> str:
        if node.op == "not":
            self.expect(node.operand, scopes, "bool", "'not'")
            return "bool"
        self.expect(node.operand, scopes, "number", "'-'")
        return "number"

    def _Logical(self, node: Logical, scopes: tuple[str, ...]) -> str:
        for operand in node.operands:
            self.expect(operand, scopes, "bool", f"'{node.op}'")
        return "bool"

    def _Binary(self, node: Binary, scopes: tuple[str, ...]) -> str:
        self.expect(node.left, scopes, "number", f"'{node.op}'")
        self.expect(node.right, scopes, "number", f"'{node.op}'")
        return "number"

    def values_of(self, node: Node, scopes: tuple[str, ...]) -> Field | None:
        """The declared column *node* reads, when it is one with a list of allowed values."""
        if isinstance(node, Column):
            problems = len(self.problems)
            f = self.field_of(node, scopes)
            del self.problems[problems:]  # reported once, by kind()
            return f if f is not None and f.choices else None
        return None

    def allowed(self, f: Field | None, literal: Literal, whole: bool) -> None:
        """Is *literal* a value column *f* can hold (*whole*: the cell's value; else one of its items)?"""
        if f is None or not isinstance(literal.value, str):
            return
        parts = _items(literal.value) if whole and f.kind in LIST_KINDS else [literal.value]
        wrong = [p for p in parts if p not in f.choices]
        if wrong:
            listed = ", ".join(f.choices[:12]) + (", ..." if len(f.choices) > 12 else "")
            self.error(f"{wrong[0]!r} is not a value of {f.name} ({listed})", literal.offset)

    def _Compare(self, node: Compare, scopes: tuple[str, ...]) -> str:
        a, b = self.kind(node.left, scopes), self.kind(node.right, scopes)
        if "any" not in (a, b) and a != b:
            self.error(f"'{node.op}' compares {_KIND_WORDS[a]} with {_KIND_WORDS[b]}", node.offset)
        elif node.op not in ("==", "!=") and a in ("bool", "set", "list"):
            self.error(f"'{node.op}' compares numbers or texts, not {_KIND_WORDS[a]}", node.offset)
        for column, other in ((node.left, node.right), (node.right, node.left)):
            if isinstance(other, Literal):
                self.allowed(self.values_of(column, scopes), other, True)
        return "bool"

    def _InList(self, node: InList, scopes: tuple[str, ...]) -> str:
        kind = self.kind(node.operand, scopes)
        f = self.values_of(node.operand, scopes)
        for item in node.items:
            item_kind = self._Literal(item, scopes)
            if kind in ("number", "text") and item_kind != kind:
                self.error(f"the list holds {_KIND_WORDS[item_kind]} for {_KIND_WORDS[kind]}", item.offset)
            self.allowed(f, item, True)
        return "bool"

    def _IsEmpty(self, node: IsEmpty, scopes: tuple[str, ...]) -> str:
        self.kind(node.operand, scopes)
        return "bool"

    def _Has(self, node: Has, scopes: tuple[str, ...]) -> str:
        self.kind(node.operand, scopes)
        if isinstance(node.operand, Column):
            problems = len(self.problems)
            f = self.field_of(node.operand, scopes)
            del self.problems[problems:]
            if f is not None and f.kind not in LIST_KINDS:
                self.error(f"'has' reads the items of a list cell (types choices, combination, refs); "
                           f"{f.name} is {f.kind}: use '=='", node.offset)
            elif f is not None:
                self.allowed(f if f.choices else None, node.item, False)
        return "bool"

    def _Contains(self, node: Contains, scopes: tuple[str, ...]) -> str:
        self.expect(node.operand, scopes, "text", "'contains'")
        return "bool"

    def _Coalesce(self, node: Coalesce, scopes: tuple[str, ...]) -> str:
        kinds = {self.kind(a, scopes) for a in node.args} - {"any"}
        if len(kinds) > 1:
            self.error("coalesce(...) mixes " + " and ".join(_KIND_WORDS[k] for k in sorted(kinds)), node.offset)
        return kinds.pop() if len(kinds) == 1 else "any"

    def _OutcomeFigure(self, node: OutcomeFigure, scopes: tuple[str, ...]) -> str:
        if self.outcomes is not None and node.key not in self.outcomes:
            known = ", ".join(self.outcomes) or "none"
            self.error(f"no outcome {node.key!r} in the analysis plan (outcomes: {known})", node.offset)
        return "number"

    def _Aggregate(self, node: Aggregate, scopes: tuple[str, ...]) -> str:
        if not self.sheets.has(node.sheet):
            self.error(f"no sheet named {node.sheet!r} (sheets: {', '.join(self.sheets.names)})", node.sheet_offset)
            return {"count": "number", "distinct": "set", "top": "set", "values": "list"}.get(node.function, "any")
        inner = scopes + (node.sheet,)
        if node.where is not None:
            self.expect(node.where, inner, "bool", "'where'")
        kinds = [self.kind(item, inner) for item in node.items]
        if node.weight is not None:
            self.expect(node.weight, inner, "number", "the weight of top(...)")
        if node.function == "count":
            return "number"
        if node.function in ("distinct", "top"):
            return "set"
        if node.function == "values":
            return "list"
        if node.function == "sum" and kinds[0] not in ("number", "any"):
            self.error(f"sum(...) adds numbers, not {_KIND_WORDS[kinds[0]]}", node.items[0].offset)
        if kinds[0] in ("bool", "set", "list"):
            self.error(f"{node.function}(...) reads numbers or texts, not {_KIND_WORDS[kinds[0]]}",
                       node.items[0].offset)
        return kinds[0]


_KIND_WORDS = {"number": "a number", "text": "a text", "bool": "a condition", "set": "a set of values",
               "list": "a list of values", "any": "a value"}


# ---------------------------------------------------------------- the public objects

def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in _children(node):
        yield from _walk(child)


@dataclass(frozen=True)
class Expression:
    """A parsed expression: a claim's metric or a headline figure (:func:`parse_expression`)."""

    text: str
    tree: Node

    def evaluate(self, context: Context) -> Value:
        """The value: a number, a text, ``None`` (empty), ``True``/``False``, a ``frozenset``
        (``distinct``, ``top``; a tuple per row when ``distinct`` reads several columns)
        or a ``tuple`` (``values``, in sheet order). :class:`ExpressionError` when it cannot be computed."""
        return _Evaluator(context).value(self.tree, ())

    @property
    def sheets(self) -> frozenset[str]:
        """The sheets it aggregates over."""
        return frozenset(n.sheet for n in _walk(self.tree) if isinstance(n, Aggregate))

    @property
    def outcomes(self) -> frozenset[str]:
        """The outcome keys it reads figures of (``pooled``, ``crude``, ``k``)."""
        return frozenset(n.key for n in _walk(self.tree) if isinstance(n, OutcomeFigure))


@dataclass(frozen=True)
class Condition(Expression):
    """A parsed row condition (:func:`parse_condition`): a filter, an eligibility or a sheet's rule."""

    def test(self, row: Mapping[str, Any], context: Context | None = None, sheet: str = "") -> bool:
        """Does *row* (typed; empty = ``None``) meet the condition? *context* and *sheet* (the row's
        sheet) are needed only to follow references or to aggregate."""
        return _Evaluator(context).condition(self.tree, (_Scope(sheet, row),))

    @property
    def columns(self) -> frozenset[str]:
        """The names it reads from the tested row (the first name of each, outside aggregates)."""
        return frozenset(_row_columns(self.tree))


@dataclass(frozen=True)
class RowValue(Expression):
    """A value computed from one row (:func:`parse_row_value`): a derived column, or an outcome's
    events or denominator, e.g. ``sum(events.patients where arm_id == arms.arm_id and grade >= 3)``."""

    def value(self, row: Mapping[str, Any], context: Context | None = None, sheet: str = "") -> Value:
        """The value for *row* (typed; empty = ``None``) of *sheet*; *context* to follow references
        or to aggregate (``SHEET.COLUMN`` of the row's own sheet names *row* inside an aggregate)."""
        return _Evaluator(context).value(self.tree, (_Scope(sheet, row),))

    @property
    def columns(self) -> frozenset[str]:
        """The names it reads from the row (the first name of each, outside aggregates)."""
        return frozenset(_row_columns(self.tree))


def _row_columns(node: Node) -> Iterator[str]:
    if isinstance(node, Column):
        yield node.path[0]
        return
    if isinstance(node, Aggregate):
        return
    for child in _children(node):
        yield from _row_columns(child)


def parse_expression(text: str) -> Expression:
    """Parse a whole expression (columns are read only inside aggregates); :class:`ExpressionError`."""
    return Expression(text, _parse(text, row_mode=False))


def parse_condition(text: str) -> Condition:
    """Parse a condition on one row (bare names are its columns); :class:`ExpressionError`."""
    return Condition(text, _parse(text, row_mode=True))


def parse_row_value(text: str) -> RowValue:
    """Parse a value of one row (bare names are its columns); :class:`ExpressionError`."""
    return RowValue(text, _parse(text, row_mode=True))


def check(expression: Expression, sheets: SheetSet, outcomes: Collection[str] | None = None,
          sheet: str = "") -> list[ExpressionError]:
    """Every problem *expression* has against the declared *sheets*, before evaluation.

    Unknown sheets, columns, references to follow and values of a vocabulary,
    comparisons of a number with a text, a condition that is not one; with
    *outcomes* (the plan's outcome keys) unknown outcomes too. A
    :class:`Condition` is checked on rows of *sheet*. Empty list when none.
    """
    checker = _Checker(sheets, outcomes)
    if isinstance(expression, RowValue):
        if sheet and not sheets.has(sheet):
            return [ExpressionError(f"no sheet named {sheet!r}", 0)]
        checker.kind(expression.tree, (sheet,) if sheet else ())
    elif isinstance(expression, Condition):
        if sheet and not sheets.has(sheet):
            return [ExpressionError(f"no sheet named {sheet!r}", 0)]
        kind = checker.kind(expression.tree, (sheet,) if sheet else ())
        if kind not in ("bool", "any"):
            checker.error(f"not a condition: it gives {_KIND_WORDS[kind]} (compare it: ==, <, in [...], "
                          "is empty)", expression.tree.offset)
    else:
        checker.kind(expression.tree, ())
    seen: set[tuple[int, str]] = set()
    unique = []
    for p in sorted(checker.problems, key=lambda p: p.offset):
        if (p.offset, p.message) not in seen:
            seen.add((p.offset, p.message))
            unique.append(p)
    return unique
