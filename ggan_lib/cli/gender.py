"""``python -m ggan_lib.cli.gender``: train (or resume) the gender-guided GGAN, export, measure, write the results.

The experiment is :mod:`ggan_lib.experiments.gender` (pieces), :mod:`ggan_lib.experiments.gender_run`
(its steps) and :mod:`ggan_lib.experiments.gender_measure` (the figures); the report is
:mod:`ggan_lib.book.gender_report`. A rerun after a finished training only evaluates.

    python -m ggan_lib.cli.gender --preset small --iters 1000 --threads 1 --unlabelled-voices-per-class 3 \\
        --unlabelled-balance corpus --out results/gender-small-balanced --run-dir runs/gender-small-balanced \\
        --export models/ggan_gender_small.pt
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import torch

from ggan_lib.book.gender_report import verdict, write_results
from ggan_lib.experiments.gender import DEFAULT_CLASSIFIER, DEFAULT_EXPORT, EVAL
from ggan_lib.experiments.gender_measure import MeasureOptions
from ggan_lib.experiments.gender_run import GenderRun, run_experiment, update_card


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="small", choices=["paper", "small", "tiny"])
    p.add_argument("--iters", type=int, default=1400, help="total training iterations (a rerun resumes up to this)")
    p.add_argument("--unlabelled", default="fsdd", help="'fsdd', 'sc09' or a folder of {digit}_{speaker}_{i}.wav")
    p.add_argument("--guidance", default="voices",
                   help="'voices' (espeak-ng words), 'librispeech' or a labelled folder")
    p.add_argument("--test-voices-per-class", type=int, default=None,
                   help="guidance speakers per gender held out for the classifier's test (voices: 2, else 5)")
    p.add_argument("--unlabelled-voices-per-class", type=int, default=0,
                   help="move this many guidance voices per gender into the unlabelled set as their synthetic "
                        "digits, gender withheld (FSDD alone is all male)")
    p.add_argument("--unlabelled-balance", default="none", choices=["none", "corpus"],
                   help="'corpus': repeat those synthetic digits to as many clips as the unlabelled corpus has")
    p.add_argument("--out", default="results/gender-small", help="small result files (JSON, Markdown, WAV, PNG)")
    p.add_argument("--run-dir", default=None, help="checkpoints, log, snapshots (default runs/gender-<preset>)")
    p.add_argument("--export", default=None, help=f"exported model .pt (+ card .json) (default {DEFAULT_EXPORT} "
                                                  "for --preset small, else <run-dir>/model.pt)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--ckpt-every", type=int, default=100)
    p.add_argument("--eval-every", type=int, default=None, help="monitor every N iterations (0: never; small: 250)")
    p.add_argument("--eval-clips", type=int, default=100)
    p.add_argument("--n-eval", type=int, default=100, help="generated clips per c for the final measures")
    p.add_argument("--n-ref", type=int, default=40, help="real reference clips per group for F0 / centroid")
    p.add_argument("--n-real", type=int, default=EVAL.n_real, help="FSDD clips for the FID reference")
    p.add_argument("--classifier-epochs", type=int, default=10)
    p.add_argument("--metric-classifier", default=str(DEFAULT_CLASSIFIER),
                   help="digit IS / FID classifier ('none': skip)")
    p.add_argument("--no-f0", action="store_true", help="skip pyin (the slowest measure)")
    p.add_argument("--progress", default="true")
    p.add_argument("--workers", type=int, default=1, help="processes for spectrogram computation")
    return p.parse_args(argv)


def run_from_args(a: argparse.Namespace) -> GenderRun:
    """The typed run of parsed flags."""
    opts = MeasureOptions(guidance=a.guidance, unlabelled=a.unlabelled, n_per_class=a.n_eval, seed=a.seed,
                          n_ref=a.n_ref, classifier_epochs=a.classifier_epochs, f0=not a.no_f0,
                          metric_classifier=None if a.metric_classifier == "none" else a.metric_classifier,
                          eval_cfg=EVAL.replace(n_real=a.n_real))
    return GenderRun(preset=a.preset, iters=a.iters, unlabelled=a.unlabelled, guidance=a.guidance,
                     test_voices_per_class=a.test_voices_per_class,
                     unlabelled_voices_per_class=a.unlabelled_voices_per_class,
                     unlabelled_balance=a.unlabelled_balance, out=Path(a.out),
                     run_dir=Path(a.run_dir) if a.run_dir else None, export=Path(a.export) if a.export else None,
                     seed=a.seed, device=a.device, batch_size=a.batch_size, ckpt_every=a.ckpt_every,
                     eval_every=a.eval_every, eval_clips=a.eval_clips,
                     progress=a.progress.lower() in ("1", "true", "yes", "on"), workers=a.workers, measure=opts)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    """Train (or resume) the gender-guided GGAN, export it, measure it, write the results."""
    a = parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    run = run_from_args(a)
    args = argv if argv is not None else sys.argv[1:]
    command = "python -m ggan_lib.cli.gender " + " ".join(shlex.quote(x) for x in args)
    metrics, media, _pm, interp = run_experiment(run, command, _log)
    write_results(run.out, metrics, media, interp=interp)
    update_card(run.export_path, metrics, run.out)
    _log(f"[gender] {verdict(metrics)}")
    _log(f"[gender] wrote {run.out}/metrics.json, summary.md; model {run.export_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
