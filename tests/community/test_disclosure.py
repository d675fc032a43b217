"""Disclosure control: the 10-5 rule, cell-key perturbation and the differencing checker, including
the attack it exists to stop (overlapping areas differenced to recover a withheld count)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from saferhub.community import disclosure as D


def test_ten_five_rule_known_values():
    r = D.Rounding()
    assert [r.publish(n) for n in (0, 1, 9, 10, 12, 13, 17, 18, 102, 103)] == \
        [None, None, None, 10, 10, 15, 15, 20, 100, 105]
    assert D.Rounding(show_zero=True).publish(0) == 0
    assert D.Rounding(threshold=5, base=10).publish(5) == 10 and D.Rounding(threshold=5, base=10).publish(14) == 10


def test_rounding_bounds_contain_exactly_the_values_that_publish_so():
    for rule in (D.Rounding(), D.Rounding(threshold=3, base=10), D.Rounding(base=1)):
        by_pub = {}
        for n in range(0, 200):
            by_pub.setdefault(rule.publish(n), []).append(n)
        for pub, ns in by_pub.items():
            if pub is None or max(ns) > 190:
                continue
            assert rule.bounds(pub) == (min(ns), max(ns)), (rule, pub)
        assert rule.bounds(None) == (0, rule.threshold - 1)


def test_cell_key_same_records_same_noise_and_bounded():
    ck = D.CellKey()
    ids = [f"crime-{i}" for i in range(40)]
    keys = D.record_keys(ids, "s3cret")
    assert keys.min() >= 0 and keys.max() <= 255
    # the same records, in any order and asked twice, publish the same value
    a = ck.publish(40, keys)
    assert a == ck.publish(40, keys[::-1]) == ck.publish(40, D.record_keys(list(reversed(ids)), "s3cret"))
    assert abs(a - 40) <= 2
    # another secret moves the noise for at least some cells (keys are not guessable without it)
    pubs = [ck.publish(n, D.record_keys(ids[:n], "s3cret")) for n in range(3, 40)]
    other = [ck.publish(n, D.record_keys(ids[:n], "other")) for n in range(3, 40)]
    assert pubs != other
    assert all(abs(p - n) <= 2 for p, n in zip(pubs, range(3, 40)))
    assert not {1, 2} & {ck.publish(n, D.record_keys(ids[:n], "k")) for n in range(1, 10)}


def test_cell_key_noise_table_is_mean_zero_and_uses_every_key():
    ck = D.CellKey()
    noise = np.array([ck.noise(k) for k in range(256)])
    assert set(noise) == {-2, -1, 0, 1, 2}
    assert abs(noise.mean()) < 0.05 and (noise == 0).mean() == pytest.approx(0.5, abs=0.01)


def test_cell_key_bounds_hold_every_true_value():
    ck = D.CellKey()
    rng = np.random.default_rng(3)
    for n in range(0, 60):
        for _ in range(20):
            keys = rng.integers(0, 256, n)
            lo, hi = ck.bounds(ck.publish(n, keys))
            assert lo <= n <= hi


# ---------------------------------------------------------------- the differencing attack

def _overlap():
    """Area A (streets a1, a2) and the wider area A+B; B is one small street block."""
    cells = {"A": ["a1", "a2"], "A+B": ["a1", "a2", "b"], "B": ["b"]}
    truth = {"A": 37, "A+B": 41, "B": 4}
    return cells, truth


def test_attack_recovers_a_suppressed_count_when_totals_are_exact():
    cells, truth = _overlap()
    exact = D.Rounding(base=1)  # suppress small counts, publish the rest exactly: the naive way
    pub = {c: exact.publish(truth[c]) for c in cells}
    assert pub["B"] is None
    assert pub["A+B"] - pub["A"] == truth["B"]  # the attack itself, by hand
    found = D.check_differencing(cells, pub, exact, truth=truth)
    assert [(f.cell, f.low, f.high) for f in found] == [("B", 4, 4)]


def test_ten_five_rule_plus_secondary_suppression_defeats_the_attack():
    cells = {"A": ["a1", "a2"], "A+B": ["a1", "a2", "b"], "B": ["b"]}
    counts = {"A": 10, "A+B": 12, "B": 2}
    rule = D.Rounding()
    naive = {c: rule.publish(counts[c]) for c in cells}
    # A=10 and A+B=10 (each at least 10): B is 0..2, three values only
    found = D.check_differencing(cells, naive, rule)
    assert [(f.cell, f.low, f.high) for f in found] == [("B", 0, 2)]
    pub, secondary = D.protect(cells, counts, rule)
    assert pub == {"A": 10, "A+B": None, "B": None} and secondary == {"A+B"}
    assert D.check_differencing(cells, pub, rule, secondary=secondary) == []
    # even an attacker who takes A+B for a primary suppression (under 10) learns nothing: that is
    # inconsistent with A >= 10, so they know it was withheld to protect something


def test_checker_matches_brute_force_on_small_worlds():
    """The MILP range equals brute force over every world consistent with the published cells."""
    cells = {"m1": ["m1"], "m2": ["m2"], "m3": ["m3"], "q": ["m1", "m2", "m3"], "h": ["m1", "m2"]}
    rule = D.Rounding()
    rng = np.random.default_rng(7)
    for _ in range(6):
        truth_atoms = dict(zip(["m1", "m2", "m3"], rng.integers(0, 25, 3)))
        counts = {c: int(sum(truth_atoms[a] for a in m)) for c, m in cells.items()}
        pub = {c: rule.publish(counts[c]) for c in cells}
        for target in [c for c in cells if pub[c] is None]:
            seen = []
            for world in itertools.product(range(0, 40), repeat=3):
                w = dict(zip(["m1", "m2", "m3"], world))
                if all(rule.bounds(pub[c])[0] <= sum(w[a] for a in m) <= rule.bounds(pub[c])[1]
                       for c, m in cells.items()):
                    seen.append(sum(w[a] for a in cells[target]))
            assert D.attacker_range(cells, pub, rule, target) == (min(seen), max(seen))


def test_protect_on_a_months_and_totals_table_leaves_nothing_recoverable():
    months = [f"2024-{m:02d}" for m in range(1, 13)]
    cells = {m: [m] for m in months} | {"year": months, "h1": months[:6], "h2": months[6:]}
    counts = dict(zip(months, [14, 3, 22, 18, 11, 9, 30, 25, 1, 16, 12, 13]))
    counts |= {"year": sum(counts[m] for m in months), "h1": sum(counts[m] for m in months[:6]),
               "h2": sum(counts[m] for m in months[6:])}
    pub, secondary = D.protect(cells, counts, D.Rounding())
    assert pub["2024-02"] is None and pub["2024-09"] is None
    assert pub["2024-03"] == 20 and pub["2024-07"] == 30
    assert D.check_differencing(cells, pub, D.Rounding(), secondary=secondary) == []
    assert secondary == set()  # five rounded months leave February +-10 wide: no total withheld
    # exact totals (suppression alone) give September away: h2 minus five months
    exact = D.Rounding(base=1)
    naive = {c: exact.publish(counts[c]) for c in cells}
    assert {(f.cell, f.low, f.high) for f in D.check_differencing(cells, naive, exact)} == \
        {("2024-09", 1, 1)}  # February shares h1 with June (9), so it stays 3..9
    pub, secondary = D.protect(cells, counts, exact)
    assert D.check_differencing(cells, pub, exact, secondary=secondary) == [] and "h2" in secondary


def test_the_witness_shortcut_never_calls_an_exposed_cell_safe():
    """`_plainly_safe` only skips cells the integer programme also finds safe (random tables)."""
    rng = np.random.default_rng(11)
    rule = D.Rounding()
    skipped = 0
    for _ in range(40):
        months = [f"m{i}" for i in range(8)]
        vals = rng.choice([0, 1, 3, 6, 9, 12, 15, 40], size=8)
        cells = {m: [m] for m in months} | {"all": months, "late": months[4:], "mid": months[2:6]}
        truth = dict(zip(months, map(int, vals)))
        counts = {c: sum(truth[a] for a in ms) for c, ms in cells.items()}
        pub = {c: rule.publish(counts[c]) for c in cells}
        for c in cells:
            if pub[c] is None and D._plainly_safe(cells, pub, rule, c, set(), truth, 5):
                skipped += 1
                lo, hi = D.attacker_range(cells, pub, rule, c)
                assert hi - lo + 1 >= 5, (c, lo, hi, truth)
    assert skipped > 20
