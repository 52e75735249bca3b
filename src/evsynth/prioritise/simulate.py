"""Replaying a fully labelled screening data set through the ranking and the stopping rule.

The same job as ``asreview simulate``: every record's decision is known, so
the screening can be re-played as if a reviewer had screened in evsynth's
order, and the order and the stopping rule judged against the truth.

* :func:`parse_labelled_csv` reads the data set (columns ``title``,
  ``abstract`` — ``abstracts`` is accepted too, as in the Cohen et al. 2006
  files — optional ``keywords``, and the label column), every problem a
  one-line error naming the file, line and column.
* :func:`replay` screens it once for a seed: a seeded random order until one
  include and one exclude have been seen, then the ranking
  (:mod:`evsynth.prioritise.ranking`) retrained after every
  :func:`~evsynth.prioritise.ranking.batch_size` decisions (each one for the
  first 100, then 1 % of those screened so far; a larger share on sets of more
  than 5,000 records, 10 % from 50,000 on).
* :func:`simulate` does that for several seeds and judges each run: work
  saved over sampling (WSS) at 95 % and 100 % recall, and where the stopping
  rule (:mod:`evsynth.prioritise.stopping`) first fires and the recall there.
* :func:`recall_curves_svg` draws the runs' recall curves.

WSS@r (Cohen et al. 2006, JAMIA 13:206–219): ``(N − n_r) / N − (1 − r)`` with
``n_r`` the records screened, in the simulated order, until ``⌈r·R⌉`` of the
``R`` includes were found. Random order gives 0 on average; 0.5 at 95 % means
half the records need not have been read.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evsynth.core.errors import EvsynthError
from evsynth.prioritise.ranking import (
    Scorer, batch_size, build_features, order_rows, random_keys, retrain_divisor,
)
from evsynth.prioritise.sample import SAMPLE_STREAM
from evsynth.prioritise.stopping import check_target, first_sample_stop, first_stop
from evsynth.prioritise.rate_rule import first_rate_stop

#: Accepted label values (compared lower-case, spaces trimmed): value -> include?
LABEL_VALUES: dict[str, int] = {"1": 1, "0": 0, "yes": 1, "no": 0, "i": 1, "e": 0,
                                "include": 1, "exclude": 0}
_LABEL_HELP = "1/0, yes/no, I/E or include/exclude"


@dataclass(frozen=True)
class LabelledSet:
    """A screening data set whose every decision is known."""

    name: str
    titles: tuple[str, ...]
    abstracts: tuple[str, ...]
    keywords: tuple[str, ...]
    #: 1 include, 0 exclude, one per record.
    labels: np.ndarray

    @property
    def records(self) -> int:
        return len(self.titles)

    @property
    def relevant(self) -> int:
        return int(self.labels.sum())

    @property
    def has_abstracts(self) -> bool:
        return any(a.strip() for a in self.abstracts)


@dataclass(frozen=True)
class SimulationRun:
    """One replay: its scores and its recall curve."""

    seed: int
    wss95: float
    wss100: float
    #: Records screened when the stopping rule first fired (``None``: never).
    stopped_at: int | None
    #: Includes found by then / all includes.
    recall_at_stop: float | None
    #: Includes found after 1, 2, … N records.
    curve: np.ndarray

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "wss95": round(self.wss95, 6), "wss100": round(self.wss100, 6),
                "stopped_at": self.stopped_at,
                "recall_at_stop": None if self.recall_at_stop is None else round(self.recall_at_stop, 6)}


def parse_label(value: str) -> int | None:
    """1 / 0 for an accepted label value, ``None`` otherwise."""
    return LABEL_VALUES.get(value.strip().lower())


def parse_labelled_csv(text: str, name: str, label: str, relevant: str | None = None) -> LabelledSet:
    """The data set in CSV *text* (file *name*, for messages), labels from column *label*.

    With *relevant*, records whose label equals it (spaces trimmed) are the
    includes and every other value an exclude (for files such as the Cohen et
    al. sets, whose labels hold exclusion codes); without it, every label must
    be one of :data:`LABEL_VALUES`.
    """
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise EvsynthError(f"{name}: empty file, no header line") from None
    except csv.Error as exc:
        raise EvsynthError(f"{name}: line 1: not CSV ({exc})") from None
    columns = [h.strip() for h in header]
    listing = ", ".join(columns)

    def column(*names: str, required: bool = True) -> int | None:
        for wanted in names:
            if wanted in columns:
                return columns.index(wanted)
        if required:
            raise EvsynthError(f"{name}: line 1: no column {' or '.join(map(repr, names))} "
                               f"(columns: {listing})")
        return None

    i_title = column("title")
    i_abstract = column("abstract", "abstracts")
    i_keywords = column("keywords", required=False)
    if label not in columns:
        raise EvsynthError(f"{name}: line 1: no column {label!r} (given by --label; columns: {listing})")
    i_label = columns.index(label)
    titles: list[str] = []
    abstracts: list[str] = []
    keywords: list[str] = []
    labels: list[int] = []
    line = 1
    try:
        for row in reader:
            start = line + 1
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                raise EvsynthError(f"{name}: line {start}: {len(row)} fields, the header has "
                                   f"{len(columns)}")
            value = row[i_label].strip()
            if relevant is not None:
                labels.append(1 if value == relevant.strip() else 0)
            else:
                parsed = parse_label(value)
                if parsed is None:
                    shown = repr(value) if value else "an empty value"
                    raise EvsynthError(
                        f"{name}: line {start}, column {label}: {shown} is not a screening label "
                        f"({_LABEL_HELP}); to count one value as relevant and all others as "
                        f"irrelevant, use --relevant VALUE")
                labels.append(parsed)
            titles.append(row[i_title])
            abstracts.append(row[i_abstract])  # type: ignore[index]
            keywords.append(row[i_keywords] if i_keywords is not None else "")
    except csv.Error as exc:
        raise EvsynthError(f"{name}: line {reader.line_num}: not CSV ({exc})") from None
    if not titles:
        raise EvsynthError(f"{name}: no records below the header")
    array = np.array(labels, dtype=np.int64)
    include = int(array.sum())
    if include == 0 or include == array.size:
        kind = "include" if include else "exclude"
        hint = (f" (no label equals --relevant {relevant!r})" if relevant is not None and not include
                else "")
        raise EvsynthError(f"{name}: column {label}: all {array.size} records are {kind}s{hint}; "
                           "a simulation needs at least one include and one exclude")
    if not any((t + a + k).strip() for t, a, k in zip(titles, abstracts, keywords)):
        raise EvsynthError(f"{name}: every title, abstract and keyword is empty: nothing to rank on")
    return LabelledSet(name=name, titles=tuple(titles), abstracts=tuple(abstracts),
                       keywords=tuple(keywords), labels=array)


def random_start(labels: np.ndarray, seed: int, tiebreak: np.ndarray | None = None) -> list[int]:
    """The rows screened in the seeded random order until one include and one exclude
    have been seen (the same for every model, so they can be compared from one start)."""
    if tiebreak is None:
        tiebreak = random_keys([str(i) for i in range(labels.shape[0])], seed)
    order: list[int] = []
    found = 0
    for row in np.argsort(tiebreak, kind="stable"):
        order.append(int(row))
        found += int(labels[row])
        if 0 < found < len(order):
            break
    return order


def replay(features: Any, labels: np.ndarray, seed: int,
           scorer: Scorer | None = None) -> np.ndarray:
    """The order in which the records would be screened (row numbers), for *seed*.

    Random (seeded keys of the row numbers) until one include and one exclude
    have been screened, then by the model, retrained after every
    :func:`~evsynth.prioritise.ranking.batch_size` decisions (*scorer*: another
    model, see :func:`~evsynth.prioritise.ranking.order_rows`).

    Once every include has been screened, the records left follow the ranking of that
    moment without further retraining: all of them are excludes, so no score of the
    replay (WSS, recall curve, where a stopping rule or the random-sample check fires)
    depends on their order, and the retrainings saved are the largest of the replay.
    """
    total = labels.shape[0]
    tiebreak = random_keys([str(i) for i in range(total)], seed)
    order = random_start(labels, seed, tiebreak)
    state = np.full(total, -1, dtype=np.int64)
    state[order] = labels[order]
    left = int(labels.sum()) - int(labels[order].sum())
    while len(order) < total:
        ranked = order_rows(features, state, tiebreak, seed, scorer)
        if left == 0:
            order.extend(ranked.tolist())
            break
        for row in ranked[:batch_size(len(order), total)]:
            order.append(int(row))
            state[row] = labels[row]
            left -= int(labels[row])
    return np.array(order, dtype=np.int64)


def wss(labels_in_order: np.ndarray, recall: float) -> float:
    """Work saved over sampling at *recall* (Cohen et al. 2006; see the module docstring)."""
    total = labels_in_order.shape[0]
    needed = math.ceil(round(recall * int(labels_in_order.sum()), 9))
    screened = int(np.searchsorted(np.cumsum(labels_in_order), needed, side="left")) + 1
    return (total - screened) / total - (1.0 - recall)


def switch_to_sample(order: np.ndarray, labels: np.ndarray, sample_after: int,
                     seed: int) -> tuple[np.ndarray, int | None]:
    """The order a reviewer follows who starts the random-sample check (``evsynth screen
    --sample``) once *sample_after* records in a row were excluded: the ranked order up
    to there, then the records left in a seeded random order. Also the records screened
    at the switch (``None``: never switched, the order is unchanged)."""
    in_order = labels[order]
    streak = 0
    for t, label in enumerate(in_order.tolist(), 1):
        streak = 0 if label else streak + 1
        if streak >= sample_after and t < order.shape[0]:
            rest = order[t:]
            keys = random_keys([str(int(row)) for row in rest], seed + SAMPLE_STREAM)
            return np.concatenate((order[:t], rest[np.argsort(keys, kind="stable")])), t
    return order, None


def judge(order: np.ndarray, labels: np.ndarray, seed: int, target_recall: float,
          confidence: float, correction: str = "bonferroni",
          sample_after: int | None = None, rule: str = "hypergeometric") -> SimulationRun:
    """Scores of one simulated order (*correction*: see :mod:`evsynth.prioritise.stopping`;
    *rule*: ``hypergeometric`` or ``rate``, :mod:`evsynth.prioritise.rate_rule`).

    With *sample_after*, the reviewer switches to the random-sample check after that
    many excludes in a row (:func:`switch_to_sample`): the scores are those of the order
    then followed, and the stop is the sample check's
    (:func:`~evsynth.prioritise.stopping.first_sample_stop`).
    """
    switch = None
    if sample_after is not None:
        order, switch = switch_to_sample(order, labels, sample_after, seed)
    in_order = labels[order]
    if switch is None and rule == "rate":
        stop = first_rate_stop(in_order, target_recall=target_recall, confidence=confidence)
    elif switch is None:
        stop = first_stop(in_order, target_recall=target_recall, confidence=confidence,
                          correction=correction)
    else:
        drawn = first_sample_stop(in_order[switch:], int(in_order[:switch].sum()),
                                  target_recall=target_recall, confidence=confidence)
        stop = None if drawn is None else switch + drawn
    curve = np.cumsum(in_order)
    recall = None if stop is None else float(curve[stop - 1]) / float(curve[-1])
    return SimulationRun(seed=seed, wss95=wss(in_order, 0.95), wss100=wss(in_order, 1.0),
                         stopped_at=stop, recall_at_stop=recall, curve=curve)


def simulate(data: LabelledSet, seeds: Sequence[int], *, target_recall: float = 0.95,
             confidence: float = 0.95, correction: str = "bonferroni",
             sample_after: int | None = None, progress: Any = None,
             rule: str = "hypergeometric") -> list[SimulationRun]:
    """One :class:`SimulationRun` per seed. *progress*, if given, is called with each run."""
    check_target(target_recall, confidence)
    features = build_features(data.titles, data.abstracts, data.keywords)
    runs = []
    for seed in seeds:
        run = judge(replay(features, data.labels, seed), data.labels, seed,
                    target_recall, confidence, correction, sample_after, rule)
        runs.append(run)
        if progress is not None:
            progress(run)
    return runs


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {"mean": round(float(np.mean(values)), 6), "min": round(float(np.min(values)), 6),
            "max": round(float(np.max(values)), 6)}


def summary(data: LabelledSet, runs: Sequence[SimulationRun], target_recall: float) -> dict[str, Any]:
    """The ``summary`` object of ``evsynth simulate``'s JSON."""
    stopped = [r for r in runs if r.stopped_at is not None]
    divisor = retrain_divisor(data.records)
    out: dict[str, Any] = {
        "seeds": len(runs),
        "retrain": f"after every decision for the first {divisor} records, then after every "
                   f"{100 / divisor:g} % of the records screened so far",
        "wss95": _spread([r.wss95 for r in runs]),
        "wss100": _spread([r.wss100 for r in runs]),
        "stopped_runs": len(stopped),
        "recall_at_stop_min": None,
        "share_of_runs_reaching_target": None,
        "records_saved": None,
    }
    if stopped:
        recalls = [r.recall_at_stop for r in stopped if r.recall_at_stop is not None]
        out["recall_at_stop_min"] = round(min(recalls), 6)
        out["share_of_runs_reaching_target"] = round(
            sum(1 for x in recalls if x >= target_recall - 1e-12) / len(stopped), 6)
        out["records_saved"] = _spread([1.0 - r.stopped_at / data.records for r in stopped
                                        if r.stopped_at is not None])
    return out


def report(data: LabelledSet, runs: Sequence[SimulationRun], target_recall: float,
           confidence: float, correction: str = "bonferroni",
           sample_after: int | None = None, rule: str = "hypergeometric") -> dict[str, Any]:
    """The JSON object ``evsynth simulate`` prints."""
    return {"records": data.records, "relevant": data.relevant, "target_recall": target_recall,
            "confidence": confidence, "stopping_rule": rule, "stopping_correction": correction,
            "sample_after": sample_after,
            "runs": [r.to_json() for r in runs],
            "summary": summary(data, runs, target_recall)}


def curve_csv(run: SimulationRun) -> str:
    """``screened,includes_found`` from 0 records to all of them."""
    lines = ["screened,includes_found", "0,0"]
    lines.extend(f"{i},{int(found)}" for i, found in enumerate(run.curve, 1))
    return "\n".join(lines) + "\n"


def recall_curves_svg(data: LabelledSet, runs: Sequence[SimulationRun], target_recall: float) -> str:
    """Records screened (x) against includes found (y), one line per run, a dot where the
    stopping rule fired; random order's expectation as a dashed diagonal."""
    import matplotlib
    from matplotlib.figure import Figure

    rc = {"svg.hashsalt": "evsynth-recall", "svg.fonttype": "none", "font.family": "DejaVu Sans",
          "font.size": 9, "axes.unicode_minus": False}
    total, relevant = data.records, data.relevant
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(6.4, 4.4))
        ax = fig.add_subplot()
        ax.plot([0, total], [0, relevant], linestyle="--", color="#777777", linewidth=1,
                label="random order (expected)")
        ax.axhline(math.ceil(round(target_recall * relevant, 9)), color="#bbbbbb", linewidth=0.8,
                   label=f"target recall ({target_recall:.0%})")
        for i, run in enumerate(runs):
            x = np.arange(0, total + 1)
            y = np.concatenate(([0], run.curve))
            ax.plot(x, y, color="#1f4e79", linewidth=0.9, alpha=0.6,
                    label="evsynth ranking" if i == 0 else None)
            if run.stopped_at is not None:
                ax.plot([run.stopped_at], [run.curve[run.stopped_at - 1]], marker="o",
                        color="#b03a2e", markersize=4, linestyle="none",
                        label="stopping rule fired" if i == 0 else None)
        ax.set_xlim(0, total)
        ax.set_ylim(0, relevant * 1.04)
        ax.set_xlabel("records screened")
        ax.set_ylabel("includes found")
        ax.set_title(f"{data.name}: {total} records, {relevant} includes, {len(runs)} runs",
                     fontsize=10, parse_math=False)
        ax.legend(loc="lower right", frameon=False, fontsize=8)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return buffer.getvalue()
