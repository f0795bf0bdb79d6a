"""error_class: the first informative type of the chain, qualified, never the message."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import httpx
import pytest

from authfunnel import fsm
from authfunnel.fsm import error_class
from authfunnel.fsm._catalog import QUALIFIED_NAME


class WrapperError(Exception):
    """A project-style wrapper that only adds context."""


@pytest.fixture
def registered_wrapper() -> Iterator[type[Exception]]:
    fsm.register_wrapper(WrapperError)
    yield WrapperError
    fsm.unregister_wrapper(WrapperError)


def chained(outer: BaseException, inner: BaseException, *, cause: bool = True) -> BaseException:
    """``outer`` raised while handling ``inner``: as its ``__cause__``, or only its context."""
    try:
        try:
            raise inner
        except BaseException as caught:
            if cause:
                raise outer from caught
            raise outer  # noqa: B904 - the implicit context is what this builds
    except BaseException as result:
        return result
    raise AssertionError("unreachable")


def test_a_builtin_type_is_named_bare() -> None:
    assert error_class(TimeoutError("after 30 s")) == "TimeoutError"


def test_a_library_type_is_qualified_by_its_top_level_package() -> None:
    assert error_class(httpx.ConnectTimeout("timed out")) == "httpx.ConnectTimeout"


def test_a_stdlib_module_type_is_qualified_by_its_module() -> None:
    assert error_class(socket.gaierror()) == "socket.gaierror"


def test_a_generic_wrapper_is_looked_through_via_its_cause() -> None:
    exc = chained(RuntimeError("login failed"), httpx.ConnectTimeout("x"))
    assert error_class(exc) == "httpx.ConnectTimeout"


def test_a_generic_wrapper_is_looked_through_via_its_context() -> None:
    exc = chained(Exception("while handling"), KeyError("k"), cause=False)
    assert error_class(exc) == "KeyError"


def test_an_informative_outer_type_wins_over_its_cause() -> None:
    exc = chained(PermissionError("denied"), OSError("disk"))
    assert error_class(exc) == "PermissionError"


def test_a_registered_project_wrapper_is_looked_through(
    registered_wrapper: type[Exception],
) -> None:
    exc = chained(registered_wrapper("step failed"), ValueError("bad"))
    assert error_class(exc) == "ValueError"


def test_an_unregistered_project_type_is_informative() -> None:
    exc = chained(WrapperError("step failed"), ValueError("bad"))
    assert error_class(exc).endswith("WrapperError")


def test_a_chain_of_only_wrappers_names_the_outermost() -> None:
    exc = chained(RuntimeError("outer"), Exception("inner"))
    assert error_class(exc) == "RuntimeError"


def test_raise_from_none_hides_the_context() -> None:
    def hide() -> None:
        try:
            raise KeyError("secret")
        except KeyError:
            raise RuntimeError("clean") from None

    with pytest.raises(RuntimeError) as raised:
        hide()
    assert error_class(raised.value) == "RuntimeError"


def test_a_cyclic_chain_terminates() -> None:
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__cause__, second.__cause__ = second, first
    assert error_class(first) == "RuntimeError"


def test_a_class_defined_in_a_function_has_a_clean_name() -> None:
    class LocalProblem(Exception):
        pass

    name = error_class(LocalProblem())
    assert "<locals>" not in name
    assert re.fullmatch(QUALIFIED_NAME, name)
    assert name.endswith(".LocalProblem")


SECRETS = [
    "user@example.com",
    "/home/alice/.config/authfunnel/token",
    "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
    "refresh_token=abc123",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_no_part_of_the_message_leaks(secret: str) -> None:
    exc = chained(RuntimeError(secret), ValueError(secret))
    name = error_class(exc)
    assert name == "ValueError"
    assert all(fragment not in name for fragment in secret.split("/") if len(fragment) > 3)


def test_the_engines_own_errors_are_qualified_as_fsm() -> None:
    assert error_class(fsm.IllegalTransition("x", "y", "login")) == "authfunnel.IllegalTransition"
