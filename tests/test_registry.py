"""The Registry behind tasks and export variants: order, duplicates, names, unknown-name errors."""
import pytest

from albert_edge.registry import Registry


class UnknownThing(ValueError):
    pass


def test_entries_keep_registration_order_and_filter():
    things = Registry("thing", UnknownThing)
    things.register("b", 2)
    things.register("a", 1)
    assert things.names() == ("b", "a") and list(things) == ["b", "a"] and "a" in things
    assert things.names(lambda v: v > 1) == ("b",)
    assert dict(things.view) == {"b": 2, "a": 1}
    with pytest.raises(TypeError):
        things.view["c"] = 3                      # read-only: register() is the one way in
    things.unregister("b")
    assert things.names() == ("a",)


def test_duplicates_bad_names_and_unknown_names_are_errors():
    things = Registry("thing", UnknownThing)
    things.register("int8", 1)
    with pytest.raises(ValueError, match="thing 'int8' is already registered"):
        things.register("int8", 2)
    for bad in ("", "Int8", "a/b", "_x", "a b"):
        with pytest.raises(ValueError, match="lower-case"):
            things.register(bad, 3)
    with pytest.raises(UnknownThing, match="unknown thing 'int4'; choose one of int8"):
        things.get("int4")
