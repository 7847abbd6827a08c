"""Typed access to untrusted documents (lockfiles from pull requests): every value is
type-checked, and a bad one is reported by its dotted path
(``environments.linux-64.packages.numpy.version``)."""

from __future__ import annotations

from collections.abc import Mapping

from envlock.errors import LockfileError

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")


def _type_name(value: object) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "integer"}.get(
        type(value), type(value).__name__
    )


class Reader:
    """Typed access to one mapping of an untrusted document, naming dotted paths in errors."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise LockfileError(
                f"{path or 'top level'}: expected a mapping, got {_type_name(data)}"
            )
        self.data: dict[str, Any] = data
        self.path = path

    def where(self, key: str) -> str:
        """The dotted path of ``key``, for a message: one line, whatever the key holds."""
        if not key.isprintable():
            from envlock.escape import printable

            key = printable(key)
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, kind: type[T], default: T | None = None) -> T | None:
        value = self.data.get(key)
        if value is None:
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

    def text(self, key: str) -> str | None:
        """A string, and nothing else: for formats with types (TOML), where ``version = 2``
        is a mistake to report, not a value to convert."""
        value = self.data.get(key)
        if value is not None and not isinstance(value, str):
            raise LockfileError(f"{self.where(key)}: expected string, got {_type_name(value)}")
        return value

    def required_text(self, key: str) -> str:
        value = self.text(key)
        if value is None:
            raise LockfileError(f"{self.where(key)}: required")
        return value

    def child(self, key: str) -> Reader | None:
        value = self.data.get(key)
        return None if value is None else Reader(value, self.where(key))

    def strings(self, key: str) -> tuple[str, ...] | None:
        value = self.get(key, list)
        if value is None:
            return None
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise LockfileError(
                    f"{self.where(key)}[{i}]: expected string, got {_type_name(item)}"
                )
        return tuple(value)


def compact(pairs: Mapping[str, object]) -> dict[str, Any]:
    return {k: v for k, v in pairs.items() if v is not None}
