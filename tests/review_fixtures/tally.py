"""How the pre-marks compare with the fixtures' hand-labelled truth.

A fact is a pre-mark whose truth is ``right`` or ``wrong`` (what a TA reading the PDF decides);
it is *settled* when the pre-mark gives that verdict, *abstained* when it says "cannot tell",
and *contradicted* otherwise.  A pre-mark whose truth is ``none`` (the text does not show it)
must say "cannot tell"; anything else is a contradiction too.
"""

CANNOT = "cannot tell"


def tally(results):
    """``results``: ``[(team, {pre-mark id: verdict}, {pre-mark id: truth})]`` -> counts and the contradictions."""
    out = {"facts": 0, "settled": 0, "abstained": 0, "none": 0, "contradicted": []}
    for team, verdicts, truth in results:
        for pid, stated in truth.items():
            verdict = verdicts[pid]
            if stated == "none":
                out["none"] += 1
                if verdict != CANNOT:
                    out["contradicted"].append((team, pid, verdict, stated))
                continue
            out["facts"] += 1
            if verdict == stated:
                out["settled"] += 1
            elif verdict == CANNOT:
                out["abstained"] += 1
            else:
                out["contradicted"].append((team, pid, verdict, stated))
    return out
