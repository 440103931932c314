"""wrappers.py: the decorators that put this answer's additions around the template's given methods.

The networks' tests hold them in place (their argument checks, Ctrl-C keeping the epochs); here,
each decorator on a small class of its own.
"""

import pytest

from wrappers import before, keeps_history


class Net:
    calls = []

    def _check(self, a, b, c):
        Net.calls.append((a, b, c))
        if a < 0:
            raise ValueError("a must be >= 0")
        return {"b": b * 10} if b is not None else None

    @before(_check)
    def method(self, a, b=None, *, c="default"):
        return a, b, c


def test_before_runs_the_hook_on_the_bound_arguments_with_defaults_first():
    Net.calls.clear()
    assert Net().method(1) == (1, None, "default")
    assert Net().method(2, c="x") == (2, None, "x")
    assert Net.calls == [(1, None, "default"), (2, None, "x")]
    with pytest.raises(ValueError, match="a must be >= 0"):
        Net().method(-1)


def test_before_passes_on_what_the_hook_returns_and_keeps_the_method_itself():
    assert Net().method(1, 2) == (1, 20, "default")
    assert Net().method(1, b=3) == (1, 30, "default")
    assert Net.method.__name__ == "method" and Net.method.__wrapped__(None, 1, 2) == (1, 2, "default")


def test_a_wrong_call_gets_pythons_own_message():
    with pytest.raises(TypeError, match=r"method\(\) missing 1 required positional argument: 'a'"):
        Net().method()
    with pytest.raises(TypeError, match=r"method\(\) got an unexpected keyword argument 'd'"):
        Net().method(1, d=2)


class Trainer:
    @keeps_history
    def fit(self, epochs, stop_at=None, fail_first=False):
        if fail_first:
            raise KeyboardInterrupt
        history = {"accuracy": []}
        for epoch in range(epochs):
            if epoch == stop_at:
                raise KeyboardInterrupt
            history["accuracy"].append(epoch)
        return history


def test_keeps_history_holds_the_returned_history_or_the_epochs_done():
    t = Trainer()
    h = t.fit(3)
    assert h == {"accuracy": [0, 1, 2]} and t.history is h
    with pytest.raises(KeyboardInterrupt):
        t.fit(5, stop_at=2)
    assert t.history == {"accuracy": [0, 1]}
    with pytest.raises(KeyboardInterrupt):  # stopped before fit made its history: the last one stays
        t.fit(5, fail_first=True)
    assert t.history == {"accuracy": [0, 1]}
