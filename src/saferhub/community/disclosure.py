"""Statistical disclosure control: everything public passes through here (pure functions).

Two methods, after the ONS's:
- the "10-5 rule" (`Rounding`): a count under `threshold` (10) is suppressed, every other count is
  rounded to the nearest `base` (5). A published number then means "true value within +-base/2 and
  at least the threshold".
- cell-key perturbation (`CellKey`): every record gets a key in 0..255 from an HMAC of its id with a
  secret; a cell's key is the sum of its records' keys mod 256, and the cell's noise is looked up
  from that key. The same set of records therefore always gets the same noise, so asking for the
  same cell twice (or through two routes) averages nothing away. Published counts of 1 and 2 never
  appear (they become 0 or 3+), and noise is bounded by `max_noise`.

And a differencing checker (`check_differencing`): given published cells over overlapping sets of
"atoms" (e.g. a ward's months and its yearly totals; or small areas and the districts made of them),
it finds, by integer programming, the tightest range an attacker can deduce for every withheld
cell from everything published. A withheld cell is "recovered" when that range holds fewer than
`min_values` possible values. `protect` adds secondary suppression until no cell is recovered.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

import numpy as np

SUPPRESSED = None  # what a withheld cell publishes


@dataclass(frozen=True)
class Rounding:
    """The 10-5 rule (configurable). Zero is suppressed too unless `show_zero`: a published 0 would
    tell a neighbour that nothing was recorded at their address."""

    threshold: int = 10
    base: int = 5
    show_zero: bool = False
    name: str = "10-5 rule"

    def publish(self, count: int, keys=None) -> int | None:
        n = int(count)
        if n < 0:
            raise ValueError("a count cannot be negative")
        if n < self.threshold and not (n == 0 and self.show_zero):
            return SUPPRESSED
        return int(self.base * np.floor(n / self.base + 0.5))

    def bounds(self, published: int | None) -> tuple[int, int]:
        """The true values consistent with a published value (the attacker's view)."""
        if published is None:
            return (1 if self.show_zero else 0), self.threshold - 1
        if published == 0 and self.show_zero:
            return 0, 0
        half_lo = (self.base - 1) // 2 + (1 if self.base % 2 == 0 else 0)  # 5 -> 2 below; 10 -> 5 below
        half_hi = (self.base - 1) // 2                                      # 5 -> 2 above; 10 -> 4 above
        return max(self.threshold, published - half_lo), published + half_hi

    def describe(self) -> str:
        return (f"counts under {self.threshold} are not shown and the rest are rounded to the nearest "
                f"{self.base}" + (" (zeros shown)" if self.show_zero else ""))


def record_keys(ids, secret: bytes | str) -> np.ndarray:
    """A key in 0..255 per record id: the first byte of HMAC-SHA256(secret, id). Without the
    secret nobody can tell which records move a cell's noise."""
    key = secret.encode() if isinstance(secret, str) else bytes(secret)
    return np.array([hmac.new(key, str(i).encode(), hashlib.sha256).digest()[0] for i in ids], dtype=np.int64)


def _default_ptable(max_noise: int) -> np.ndarray:
    """Noise probabilities for -max_noise..+max_noise: symmetric, mean zero, half the mass on 0."""
    d = np.arange(-max_noise, max_noise + 1)
    w = np.where(d == 0, 0.5, 0.5 * (max_noise + 1 - np.abs(d)))
    w[d != 0] *= 0.5 / w[d != 0].sum()
    return w / w.sum()


@dataclass(frozen=True)
class CellKey:
    """Cell-key perturbation. `publish(count, keys)` takes the record keys of the cell's records
    (an array), or the cell key itself (an int: the sum of its records' keys, so a total's key is
    the sum of its parts' keys and nobody needs the records again)."""

    max_noise: int = 2
    smallest: int = 3  # no published 1 or 2 (a value under `smallest` becomes 0 or `smallest`)
    name: str = "cell-key perturbation"
    ptable: tuple = field(default=())

    def _table(self) -> np.ndarray:
        return np.asarray(self.ptable, float) if self.ptable else _default_ptable(self.max_noise)

    def noise(self, cell_key: int) -> int:
        """The noise for a cell key: the key's position (0..255)/256 in the cumulative table."""
        cum = np.cumsum(self._table())
        u = (int(cell_key) % 256 + 0.5) / 256
        return int(np.searchsorted(cum, u) - self.max_noise)

    def publish(self, count: int, keys=None) -> int:
        n = int(count)
        if n == 0:
            return 0  # an empty cell has no records to key, and no one to protect
        if isinstance(keys, (int, np.integer)):
            cell_key = int(keys)
        elif keys is None or len(keys) != n:
            raise ValueError(f"cell-key perturbation needs one key per record ({n} records)")
        else:
            cell_key = int(np.sum(keys))
        v = n + self.noise(cell_key % 256)
        if v < self.smallest:
            v = 0 if v < (self.smallest + 1) / 2 else self.smallest
        return max(0, int(v))

    def bounds(self, published: int | None) -> tuple[int, int]:
        p, d = int(published or 0), self.max_noise
        cut = -(-(self.smallest + 1) // 2)  # values >= cut (and < smallest) publish as `smallest`
        if p == 0:
            return 0, cut - 1 + d
        if p == self.smallest:
            return max(1, cut - d), p + d
        return max(1, p - d), p + d

    def describe(self) -> str:
        return (f"every count has a small fixed amount of noise added (at most {self.max_noise} either way, "
                f"the same every time for the same records); no count of 1 or 2 is shown")


def method(name: str = "10-5", threshold: int = 10, base: int = 5, max_noise: int = 2):
    """A disclosure method by name: "10-5" (rounding) or "cell-key"."""
    if name in ("10-5", "rounding"):
        return Rounding(threshold=threshold, base=base)
    if name in ("cell-key", "cellkey"):
        return CellKey(max_noise=max_noise)
    from saferhub.errors import SaferhubError

    raise SaferhubError(f"unknown disclosure method {name!r}: use 10-5 or cell-key")


# ---------------------------------------------------------------- differencing


@dataclass
class Recovery:
    cell: str
    low: int
    high: int
    truth: int | None = None

    @property
    def values(self) -> int:
        return self.high - self.low + 1


def attacker_range(cells: dict[str, list[str]], published: dict[str, int | None], rule, target: str,
                   secondary=frozenset()) -> tuple[int, int]:
    """The tightest [low, high] an attacker deduces for cell `target` from every published cell:
    integer atoms >= 0, each published cell's atom sum within `rule.bounds` of its value, a
    withheld cell within the suppressed range (any value if it is in `secondary`: withheld only to
    protect another). Solved exactly with scipy's MILP."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    atoms = sorted({a for members in cells.values() for a in members})
    index = {a: i for i, a in enumerate(atoms)}
    names = list(cells)
    A = np.zeros((len(names), len(atoms)))
    lo, hi = np.zeros(len(names)), np.zeros(len(names))
    for r, name in enumerate(names):
        for a in cells[name]:
            A[r, index[a]] = 1
        lo[r], hi[r] = (0, np.inf) if name in secondary else rule.bounds(published.get(name))
    cons = LinearConstraint(A, lo, hi)
    c = A[names.index(target)]
    out = []
    for sign in (1, -1):
        res = milp(sign * c, constraints=cons, integrality=np.ones(len(atoms)), bounds=Bounds(0, np.inf))
        if res.status != 0:  # infeasible can only mean the inputs disagree with the rule
            raise ValueError(f"published cells are inconsistent with the {rule.name}")
        out.append(int(round(sign * res.fun)))
    return out[0], out[1]


def check_differencing(cells: dict[str, list[str]], published: dict[str, int | None], rule,
                       min_values: int = 5, truth: dict[str, int] | None = None,
                       secondary=frozenset(), atom_truth: dict[str, int] | None = None) -> list[Recovery]:
    """Every withheld cell the published cells pin down to fewer than `min_values` values.
    With `atom_truth` (the true count of every atom) a cell is first tried by `_plainly_safe`,
    which is exact when it says safe; only the rest go to the integer programme."""
    found = []
    for name, value in published.items():
        if value is not None or name in secondary:
            continue
        if atom_truth is not None and _plainly_safe(cells, published, rule, name, secondary, atom_truth, min_values):
            continue
        low, high = attacker_range(cells, published, rule, name, secondary)
        if high - low + 1 < min_values:
            found.append(Recovery(name, low, high, (truth or {}).get(name)))
    return found


def _plainly_safe(cells, published, rule, target, secondary, truth, min_values) -> bool:
    """A sufficient condition, by witness: starting from the true world, move the target atom up
    and down, paying for it with the slack of every published cell that holds it and with withheld
    atoms that sit in exactly the same published cells (moved the other way, within their own
    withheld range). Both moved worlds satisfy every constraint, so if they span `min_values`
    values the attacker cannot do better. Only single-atom withheld cells are tried."""
    if len(cells[target]) != 1:
        return False
    atom = cells[target][0]
    lo_own, hi_own = rule.bounds(None)
    holding = [c for c, ms in cells.items() if c != target and atom in ms and c not in secondary]
    up_slack = down_slack = np.inf
    for c in holding:
        lo, hi = rule.bounds(published[c])
        true_c = sum(truth[a] for a in cells[c])
        up_slack, down_slack = min(up_slack, hi - true_c), min(down_slack, true_c - lo)
    key = frozenset(holding)
    partners = [a for c, ms in cells.items() if c not in (target,) and len(ms) == 1 and published.get(c) is None
                and c not in secondary and (a := ms[0]) != atom
                and frozenset(h for h, hm in cells.items() if h != c and a in hm and h not in secondary) == key]
    t = truth[atom]
    up = min(hi_own - t, up_slack + sum(truth[a] - lo_own for a in partners))
    down = min(t - lo_own, down_slack + sum(hi_own - truth[a] for a in partners))
    return up + down + 1 >= min_values


def protect(cells: dict[str, list[str]], counts: dict[str, int], rule, min_values: int = 5,
            keys: dict[str, np.ndarray] | None = None, max_rounds: int = 50) -> tuple[dict, set]:
    """Publish every cell with `rule`, then suppress more cells (secondary suppression: the
    largest cell sharing atoms with an exposed one, i.e. the overlapping total) until the
    differencing check passes. Returns ({cell: published value or None}, the cells withheld
    only to protect others)."""
    pub = {c: rule.publish(counts[c], None if keys is None else keys.get(c)) for c in cells}
    secondary: set[str] = set()
    if not isinstance(rule, Rounding):
        return pub, secondary  # cell-key noise is the same per record set: nothing to difference away
    truth = {ms[0]: counts[c] for c, ms in cells.items() if len(ms) == 1}
    truth = truth if len(truth) == len({a for ms in cells.values() for a in ms}) else None
    for _ in range(max_rounds):
        exposed = check_differencing(cells, pub, rule, min_values, secondary=secondary, atom_truth=truth)
        if not exposed:
            return pub, secondary
        hit = set(cells[exposed[0].cell])
        overlapping = [c for c in cells if pub[c] is not None and hit & set(cells[c])]
        if not overlapping:
            break
        worst = max(overlapping, key=lambda c: (len(cells[c]), c))
        pub[worst] = None
        secondary.add(worst)
    if check_differencing(cells, pub, rule, min_values, secondary=secondary):
        raise RuntimeError("secondary suppression did not converge")
    return pub, secondary
