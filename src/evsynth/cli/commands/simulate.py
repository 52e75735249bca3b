"""``evsynth simulate``: replay a fully labelled screening data set through the ranking and stopping rule.

Prints one JSON object on stdout (see :func:`evsynth.prioritise.simulate.report`);
with ``--out DIR`` also writes, per run, ``recall-seed<N>.csv`` (records
screened, includes found), all runs' ``recall-curves.svg`` and the same JSON
as ``simulation.json``. Everything is computed before anything is written, and
every file is written atomically. The target recall and confidence come from
the project's ``review.toml`` (``[screening]``; 95 % / 95 % without one) unless
given as options.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evsynth.core.atomic import write_text
from evsynth.core.errors import EvsynthError
from evsynth.core.settings import load_settings
from evsynth.prioritise.simulate import (
    SimulationRun, curve_csv, parse_labelled_csv, recall_curves_svg, report, simulate,
)
from evsynth.prioritise.stopping import CORRECTIONS, check_target


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE.csv",
                        help="labelled data set: columns title, abstract (or abstracts), "
                             "optional keywords, and the label column")
    parser.add_argument("--label", required=True, metavar="COLUMN",
                        help="column with the decisions: 1/0, yes/no, I/E or include/exclude")
    parser.add_argument("--relevant", default=None, metavar="VALUE",
                        help="count records whose label is VALUE as relevant and every other "
                             "value as irrelevant (e.g. --relevant I for label columns with "
                             "exclusion codes)")
    parser.add_argument("--seeds", type=int, default=10, metavar="N",
                        help="number of replays, seeds 0 … N-1 (default: 10)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="also write each run's recall curve (CSV), a plot (SVG) and the JSON")
    parser.add_argument("--target-recall", type=float, default=None, metavar="SHARE",
                        help="target recall, e.g. 0.95 (default: review.toml [screening], else 0.95)")
    parser.add_argument("--confidence", type=float, default=None, metavar="SHARE",
                        help="confidence, e.g. 0.95 (default: review.toml [screening], else 0.95)")
    parser.add_argument("--stopping-correction", choices=CORRECTIONS, default=CORRECTIONS[0],
                        help="bonferroni (default): the error allowance split over the windows "
                             "the rule tries; none: Callaghan & Müller-Bloch's plain minimum, "
                             "for comparison")
    parser.add_argument("--stopping-rule", choices=("rate", "hypergeometric"), default=None,
                        help="rate: the ranked-rate rule; hypergeometric: Callaghan & "
                             "Müller-Bloch's criterion (default: review.toml [screening] "
                             "stopping_rule, else hypergeometric)")
    parser.add_argument("--sample-after", type=int, default=None, metavar="N",
                        help="replay the random-sample check: after N excludes in a row, the "
                             "records left come in a random order and the check on that sample "
                             "decides when to stop (as `evsynth screen --sample` at that point)")
    parser.add_argument("--root", type=Path, default=Path("."), metavar="DIR",
                        help="project folder whose review.toml to read (default: current folder)")


def read_text(path: Path) -> str:
    """The file's text, or a one-line error."""
    if not path.is_file():
        raise EvsynthError(f"{path}: no such file")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EvsynthError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.root).screening
    target = settings.target_recall if args.target_recall is None else args.target_recall
    confidence = settings.confidence if args.confidence is None else args.confidence
    check_target(target, confidence)
    rule = settings.stopping_rule if args.stopping_rule is None else args.stopping_rule
    if args.sample_after is not None and args.sample_after < 1:
        raise EvsynthError(f"--sample-after must be at least 1, not {args.sample_after}")
    if args.seeds < 1:
        raise EvsynthError(f"--seeds must be at least 1, not {args.seeds}")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise EvsynthError(f"{args.out}: exists and is not a folder")
    data = parse_labelled_csv(read_text(args.file), str(args.file), args.label, args.relevant)
    if not data.has_abstracts:
        print(f"evsynth: note: {args.file}: no abstracts; ranking on titles"
              + (" and keywords" if any(k.strip() for k in data.keywords) else "") + " only",
              file=sys.stderr)

    def progress(one: SimulationRun) -> None:
        stop = "never" if one.stopped_at is None else f"{one.stopped_at} (recall {one.recall_at_stop:.3f})"
        print(f"seed {one.seed}: WSS@95 {one.wss95:.3f}, stopped at {stop}", file=sys.stderr)

    runs = simulate(data, range(args.seeds), target_recall=target, confidence=confidence,
                    correction=args.stopping_correction, sample_after=args.sample_after,
                    progress=progress, rule=rule)
    result = report(data, runs, target, confidence, args.stopping_correction, args.sample_after,
                    rule)
    text = json.dumps(result, indent=2) + "\n"
    if args.out is not None:
        svg = recall_curves_svg(data, runs, target)
        for one in runs:
            write_text(args.out / f"recall-seed{one.seed}.csv", curve_csv(one))
        write_text(args.out / "recall-curves.svg", svg)
        write_text(args.out / "simulation.json", text)
    sys.stdout.write(text)
    return 0
