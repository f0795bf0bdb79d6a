"""The engine's modules form a DAG: no import cycle, counting every kind of import.

Built with grimp, the library import-linter uses, so an import inside a function or under
``TYPE_CHECKING`` counts as an edge, as it does for import-linter's contracts: such a cycle
still ties the modules together, and it is one refactoring away from failing at import time.
"""

from __future__ import annotations

import grimp

ENGINE = "authfunnel.fsm"


def engine_graph() -> grimp.ImportGraph:
    # cache_dir=None: grimp would otherwise write a .grimp_cache into the current directory.
    return grimp.build_graph(ENGINE, exclude_type_checking_imports=False, cache_dir=None)


def cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """One shortest cycle through each direct import that closes one, as its chain of modules."""
    found: list[tuple[str, ...]] = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                found.append((importer, *back))
    return found


def test_the_engine_has_no_import_cycle() -> None:
    found = cycles(engine_graph())
    assert not found, "import cycles in authfunnel.fsm:\n" + "\n".join(
        " -> ".join(cycle) for cycle in found
    )


def test_the_graph_counts_type_checking_and_function_level_imports() -> None:
    graph = engine_graph()
    # Under `if TYPE_CHECKING:` only.
    assert graph.direct_import_exists(importer=f"{ENGINE}._emitters", imported=f"{ENGINE}._tracker")
    # Inside a function only (the face imports the stateful phase when it runs).
    assert graph.direct_import_exists(
        importer=f"{ENGINE}.check", imported=f"{ENGINE}.check._stateful"
    )


def test_a_cycle_is_found_and_named() -> None:
    graph = grimp.ImportGraph()
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.d")
    assert ("pkg.a", "pkg.b", "pkg.c", "pkg.a") in cycles(graph)
    assert all("pkg.d" not in cycle for cycle in cycles(graph))
