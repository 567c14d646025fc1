"""A worker keeps the models it loaded for the next jobs, but at most
STUDIO_MODELS_KEPT of them: a GPU holds a few models, not every one a day's jobs used."""

from __future__ import annotations

import gc
import weakref

import pytest

from jobs import kinds


class Model:
    """Stands for a loaded model (anything a loader returns)."""


@pytest.fixture
def cache(studio_home, monkeypatch):
    monkeypatch.setattr(kinds, "_models", type(kinds._models)())
    monkeypatch.setenv("STUDIO_MODELS_KEPT", "2")
    from jobs.settings import reset_settings

    reset_settings()
    loads: list[str] = []

    def load(key: str) -> Model:
        def loader() -> Model:
            loads.append(key)
            return Model()

        return kinds.cached_model(key, loader)

    return load, loads


def test_a_model_is_loaded_once_and_reused(cache):
    load, loads = cache
    assert load("captioner") is load("captioner")
    assert loads == ["captioner"]


def test_the_least_recently_used_model_is_let_go_and_freed(cache):
    load, loads = cache
    first = weakref.ref(load("sam3"))
    load("ip2p")
    load("sam3")  # used again: now the most recent
    load("wan")  # a third model: ip2p, the least recently used, goes
    assert kinds.loaded_models() == ["sam3", "wan"]
    assert first() is not None  # still loaded: no second load of sam3
    gone = weakref.ref(kinds._models["sam3"])
    load("florence")  # sam3 is now the least recently used
    assert gone() is None  # nothing else held it: its memory is free at once
    assert kinds.loaded_models() == ["wan", "florence"]
    load("ip2p")
    assert loads == ["sam3", "ip2p", "wan", "florence", "ip2p"]  # ip2p loaded again


class Cyclic:
    """A model whose parts refer back to it (as a torch module with hooks can)."""

    def __init__(self) -> None:
        self.parts = [self]


def test_a_model_kept_alive_by_a_cycle_is_collected_when_let_go(cache):
    load, _ = cache
    gc.disable()  # only the cache's own collection may free it
    try:
        model = kinds.cached_model("cyclic", Cyclic)
        gone = weakref.ref(model)
        del model
        load("sam3")
        assert gone() is not None  # still cached
        load("wan")  # "cyclic" let go: its cycle is collected
        assert gone() is None
    finally:
        gc.enable()


def test_a_job_holding_an_evicted_model_keeps_it_until_it_is_done(cache):
    load, _ = cache
    held = load("ip2p")  # a running job's reference
    load("sam3")
    load("wan")
    assert "ip2p" not in kinds.loaded_models()
    assert isinstance(held, Model)  # the job goes on with it
