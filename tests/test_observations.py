"""The grader's rules on a part's observations, without a sandbox: the channel's reader (grade/observations.py)
charges what the harness did not write to its probe as tampering, and the learning judge gives the slow learner
its judgement call with a message that cannot contradict itself."""

import base64
import io
import json

import numpy as np

from grade.items import registry
from grade.observations import judge_part


def test_a_slow_learner_gets_the_courses_epochs_and_the_message_cannot_contradict_itself():
    from grade import data
    from grade.judge.common import Observations, chance_count
    items, judgement = registry()
    labels = np.random.default_rng(0).integers(0, 10, data.N_HELD)
    need = chance_count(len(labels))

    def epoch(right):
        p = (labels + 1) % 10
        p[:right] = labels[:right]
        return p

    def judged(rights):
        obs = Observations({"learns": {"values": {"epochs": len(rights) - 1}, "error": None}}, {}, {}, data.settings(),
                           expected={"learns.labels": labels}, epochs={"learns": [epoch(r) for r in rights]})
        return judge_part("scratch", obs, {"scratch.learns": items["scratch.learns"]}, judgement)["scratch.learns"]
    slow = judged([50] * 25 + [need])  # 10% for 24 epochs, then just enough: after epoch 25
    assert slow.fraction == 1 and "judgement call scratch.learns.slow" in slow.message, slow.message
    quick = judged([50, 60, need + 20])
    assert quick.fraction == 1 and quick.code is None, quick.message
    short = judged([50, 60, need - 1])
    assert short.fraction == 0 and "does not learn" in short.message
    assert f"ends at {need - 1} of {len(labels)} right, and {need} of {len(labels)}" in short.message, short.message
    flat = judged([need, need])
    assert flat.fraction == 0 and "does not rise" in flat.message


def test_observations_the_harness_did_not_write_are_tampering_and_charged_to_their_probe():
    """The reader of a part's channel (grade/observations.py), line by line: what the harness writes is read; a line
    with a wrong tag, repeated or out of order, a second record, a record while another probe runs: tampered."""
    import hmac as _hmac
    from grade.observations import Reader
    secret = b"k" * 32

    def line(seq, kind, key=secret, **fields):
        body = json.dumps({"seq": seq, "kind": kind, **fields}).encode()
        return _hmac.new(key, body, "sha256").hexdigest().encode() + b" " + body

    def read(*lines, stop=lambda p: len(p) >= 2):
        reader = Reader(secret, ["forward", "learns"], stop=stop, max_epochs=3)
        answers = [reader.feed(x) for x in lines]
        return reader, answers
    record = {"values": {"x": 1}, "error": None}
    honest = [line(0, "start", probe="forward"), line(1, "record", probe="forward", record=record),
              line(2, "start", probe="learns")]
    reader, _ = read(*honest[:2])
    assert reader.records["forward"]["values"] == {"x": 1} and not reader.tampered
    forged = line(2, "record", key=b"x" * 32, probe="forward", record=record)
    for lines, blamed in [
            ([*honest[:2], forged], {"forward", "learns"}),  # a wrong tag, no probe running: every probe
            ([honest[0], forged], {"forward"}),  # a wrong tag while forward runs (and naming it)
            ([*honest[:2], honest[1]], {"forward"}),  # a line repeated
            ([*honest[:2], line(5, "start", probe="learns")], {"learns"}),  # lines left out
            ([*honest[:2], line(2, "record", probe="forward", record=record)], {"forward"}),  # a second record
            ([*honest[:3], line(3, "record", probe="forward", record=record)], {"forward", "learns"}),  # another's
            ([honest[0], line(1, "start", probe="forward")], {"forward"}),  # started twice
            ([line(0, "end"), line(1, "start", probe="learns")], {"learns"}),  # after the end
            ([b"garbage " + b"[" * 100_000], {"forward", "learns"})]:  # not even JSON
        reader, _ = read(*lines)
        assert set(reader.tampered) == blamed, (lines, reader.tampered)
        records, _, _ = reader.observations()
        assert all(records[p]["error"]["message"].startswith("observations tampered: ") for p in blamed)

    def predictions(p):  # as the harness encodes arrays: .npy, base64
        buf = io.BytesIO()
        np.save(buf, np.asarray(p), allow_pickle=False)
        return {"predictions": base64.b64encode(buf.getvalue()).decode()}
    learning = [line(0, "start", probe="learns"), line(1, "epoch", probe="learns", epoch=0, arrays=predictions([1, 2])),
                line(2, "epoch", probe="learns", epoch=1, arrays=predictions([1, 3]))]
    reader, answers = read(*learning)  # the grader says when to stop (here: after two epochs)
    assert answers[1:] == [b"go\n", b"stop\n"] and [e.tolist() for e in reader.epochs["learns"]] == [[1, 2], [1, 3]]
    reader, _ = read(*learning[:2], line(2, "epoch", probe="learns", epoch=2, arrays=predictions([1, 3])))
    assert set(reader.tampered) == {"learns"} and reader.observations()[2] == {}
    reader, answers = read(*learning, *(line(3 + k, "epoch", probe="learns", epoch=0, arrays=predictions([1, 1]))
                                        for k in range(3)))  # asking again and again: an oracle of the labels
    assert answers[3:] == [b"go\n", b"stop\n", b"stop\n"] and [e.tolist() for e in reader.epochs["learns"]] == [[1, 1]]
