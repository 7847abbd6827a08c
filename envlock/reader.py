"""Typed access to untrusted documents (lockfiles from pull requests): every value is
type-checked, and a bad one is reported by its dotted path
(``environments.linux-64.packages.numpy.version``).

:class:`Reader` reads other tools' files, where ``null`` means absent and keys envlock does
not know are ignored. :class:`Strict` reads envlock's own, where it accepts what the published
schema accepts and nothing else: a mapping's keys are the ones it lists, ``null`` is refused,
and so are values outside their enum or pattern."""

from __future__ import annotations

from collections.abc import Mapping

from envlock.errors import LockfileError

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from typing_extensions import Self

    T = TypeVar("T")


_TYPE_NAMES = {
    dict: "mapping",
    list: "list",
    str: "string",
    bool: "boolean",
    int: "integer",
    type(None): "null",
}


def _type_name(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class Reader:
    """Typed access to one mapping of an untrusted document, naming dotted paths in errors.
    With ``keys``, a key outside them is refused (a typo would otherwise be dropped)."""

    strict = False  # whether a null is refused, rather than read as absent

    def __init__(self, data: object, path: str, keys: frozenset[str] | None = None) -> None:
        if not isinstance(data, dict):
            raise LockfileError(
                f"{path or 'top level'}: expected a mapping, got {_type_name(data)}"
            )
        self.data: dict[str, Any] = data
        self.path = path
        if keys is not None and not keys.issuperset(data):
            unknown = min(str(k) for k in data if k not in keys)
            raise LockfileError(
                f"{self.where(unknown)}: unknown key (known here: {', '.join(sorted(keys))})"
            )

    def _value(self, key: str) -> Any:
        """The value of ``key``; ``None`` when absent (or, unless strict, null)."""
        value = self.data.get(key)
        if value is None and self.strict and key in self.data:
            raise self._null(key)
        return value

    def _null(self, key: str) -> LockfileError:
        return LockfileError(f"{self.where(key)}: null (leave the key out when unknown)")

    def where(self, key: str) -> str:
        """The dotted path of ``key``, for a message: one line, whatever the key holds."""
        if not key.isprintable():
            from envlock.escape import printable

            key = printable(key)
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, kind: type[T], default: T | None = None) -> T | None:
        value = self.data.get(key)
        if value is None:
            if self.strict and key in self.data:
                raise self._null(key)
            return default
        if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            # YAML reads ``version: 3.10`` as the number 3.1, ``010`` as 8 and ``1:30`` as 90:
            # the string is lost
            raise LockfileError(
                f"{self.where(key)}: a number where a string belongs (YAML reads 3.10 as 3.1, "
                "010 as 8): quote it"
            )
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise LockfileError(
                f"{self.where(key)}: expected {_type_name(kind())}, got {_type_name(value)}"
            )
        return value

    def require(self, key: str, kind: type[T]) -> T:
        value = self.get(key, kind)
        if value is None:
            raise LockfileError(f"{self.where(key)}: required")
        return value

    def nonempty(self, key: str) -> str:
        value = self.require(key, str)
        if not value:
            raise LockfileError(f"{self.where(key)}: empty")
        return value

    def text(self, key: str) -> str | None:
        """A string, and nothing else: for formats with types (TOML), where ``version = 2``
        is a mistake to report, not a value to convert."""
        value = self._value(key)
        if value is not None and not isinstance(value, str):
            raise LockfileError(f"{self.where(key)}: expected string, got {_type_name(value)}")
        return value

    def required_text(self, key: str) -> str:
        value = self.text(key)
        if value is None:
            raise LockfileError(f"{self.where(key)}: required")
        return value

    def child(self, key: str, keys: frozenset[str] | None = None) -> Self | None:
        """The mapping under ``key``, read the way this one is."""
        value = self._value(key)
        return None if value is None else type(self)(value, self.where(key), keys)

    def strings(self, key: str, unique: bool = False) -> tuple[str, ...] | None:
        value = self.get(key, list)
        if value is None:
            return None
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise LockfileError(
                    f"{self.where(key)}[{i}]: expected string, got {_type_name(item)}"
                )
        if unique and len(set(value)) < len(value):
            raise LockfileError(f"{self.where(key)}: an item is listed twice")
        return tuple(value)

    def string_map(self, key: str) -> dict[str, str]:
        """A mapping of strings to strings; empty when absent."""
        child = self.child(key)
        if child is None:
            return {}
        return {str(k): child.require(str(k), str) for k in child.data}

    def choice(self, key: str, options: tuple[str, ...]) -> str | None:
        value = self.get(key, str)
        if value is not None and value not in options:
            raise LockfileError(f"{self.where(key)}: must be one of {', '.join(options)}")
        return value

    def required_choice(self, key: str, options: tuple[str, ...]) -> str:
        value = self.choice(key, options)
        if value is None:
            raise LockfileError(f"{self.where(key)}: required")
        return value

    def matching(self, key: str, pattern: str, what: str) -> str | None:
        """A string that matches ``pattern`` whole; ``what`` says in words what it must be."""
        value = self.get(key, str)
        if value is not None and not full_match(pattern, value):
            raise LockfileError(f"{self.where(key)}: not {what}")
        return value


class Strict(Reader):
    """Reads envlock's own lockfiles, as strictly as the schema: a null is refused."""

    strict = True


def full_match(pattern: str, value: str) -> bool:
    """``value`` matches ``pattern`` whole, ASCII classes only (as JSON Schema's ``pattern``)."""
    import re  # already imported by dataclasses: free

    return re.fullmatch(pattern, value, re.ASCII) is not None


def compact(pairs: Mapping[str, object]) -> dict[str, Any]:
    return {k: v for k, v in pairs.items() if v is not None}
