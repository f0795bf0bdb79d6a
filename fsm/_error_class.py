"""``error_class``: the type that best explains a failure, never any of its message.

Messages can carry emails, paths and tokens, so the failure is reported by type name only. The
outermost exception is often a generic wrapper (``RuntimeError("login failed")``) around the
informative one, so the chain is walked, ``__cause__`` first, then ``__context__``.
"""

from __future__ import annotations

import builtins
import threading
from typing import Final

_GENERIC: Final[frozenset[type[BaseException]]] = frozenset(
    {BaseException, Exception, RuntimeError}
)
_wrappers: set[type[BaseException]] = set()
_wrappers_lock = threading.Lock()


def register_wrapper(exception_type: type[BaseException]) -> type[BaseException]:
    """Treat ``exception_type`` as a generic wrapper that ``error_class`` looks through.

    Usable as a class decorator::

        @register_wrapper
        class CommandError(Exception): ...
    """
    with _wrappers_lock:
        _wrappers.add(exception_type)
    return exception_type


def unregister_wrapper(exception_type: type[BaseException]) -> None:
    """Undo ``register_wrapper`` (for tests)."""
    with _wrappers_lock:
        _wrappers.discard(exception_type)


def qualified_name(exception_type: type[BaseException]) -> str:
    """``TimeoutError`` for builtins, ``httpx.ConnectTimeout`` for a package's exceptions."""
    name = ".".join(part for part in exception_type.__qualname__.split(".") if part != "<locals>")
    module = exception_type.__module__
    if module == builtins.__name__:
        return name
    package = module.partition(".")[0]
    return f"{package}.{name}"


def _is_generic(exception_type: type[BaseException]) -> bool:
    return exception_type in _GENERIC or exception_type in _wrappers


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__suppress_context__:
            current = None
        else:
            current = current.__context__
    return chain


def error_class(exc: BaseException) -> str:
    """The qualified type name of the first informative exception in ``exc``'s chain.

    >>> try:
    ...     raise RuntimeError("token abc123 rejected") from TimeoutError()
    ... except RuntimeError as exc:
    ...     error_class(exc)
    'TimeoutError'
    """
    chain = _chain(exc)
    for link in chain:
        if not _is_generic(type(link)):
            return qualified_name(type(link))
    return qualified_name(type(chain[0]))
