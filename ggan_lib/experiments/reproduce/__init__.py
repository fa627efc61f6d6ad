"""Reproduce Tables I and II with papermill: ``python -m ggan_lib.cli.reproduce --table 2 --preset tiny --data fsdd``.

The notebooks in ``notebooks/`` (train_ggan, train_baseline, train_metric_classifier, evaluate) hold only
orchestration; what they compute is here, so tests and other notebooks share it. The runner plans the runs
of a table, executes each notebook with papermill in its own run folder (cwd), skips runs whose
``result.json`` already holds the same parameters (a killed batch resumes where it stopped; paths inside the
repository are stored as ``<repo>/...``, see portable_params, so a clone elsewhere resumes too), reports the
notebook and cell that failed, and builds ``table1.csv`` / ``table2.csv`` (and, through ggan_lib.book.reports, ``.md``) with the paper's SC09 figures in
adjacent columns, plus ``manifest.json`` (command, machine, date, git commit, wall times).

One module per concern, in the order a run goes through them:

* :mod:`.data`: the spectrograms and waveforms a notebook reads;
* :mod:`.plan`: the runs of a table (:class:`Run`, :class:`Options`, :func:`plan`);
* :mod:`.claims`: several runners sharing one results folder (``runs/<name>/.claim``);
* :mod:`.training`: a GGAN run's Trainer, continued from its checkpoint (:func:`ggan_trainer_for_run`);
* :mod:`.runner`: papermill execution, resuming, failures (:func:`run_all`, :func:`is_finished`);
* :mod:`.results`: a run's ``result.json`` (:func:`write_result`, :func:`read_result`, :func:`portable_params`);
* :mod:`.scoring`: Table I's IS / FID (:func:`real_reference`, :func:`score_real`, :func:`score_generated`);
* :mod:`.tables`: Tables I and II as DataFrames and CSV (:func:`load_table`);
* :mod:`.manifest`: ``manifest.json``.

Checkpoints load through ggan_lib.experiments.zoo (:func:`load_generator` here is its name for Table I); the
Markdown of the tables is ggan_lib.book.reports; the command line is ggan_lib.cli.reproduce.
"""
from ggan_lib.experiments.zoo import GENERATOR_KINDS, load_generator

from .claims import CLAIM, claim_run, claimed_elsewhere, release_run
from .data import audio_cfg, data_source, load_spectrograms, load_waves
from .manifest import git_commit, machine, read_manifest, write_manifest
from .plan import (
                   RUN_DEFAULTS,
                   SHIPPED_CLASSIFIER,
                   Options,
                   Run,
                   baseline_run,
                   classifier_run,
                   default_out,
                   evaluate_run,
                   ggan_run,
                   plan,
                   plan_table1,
                   plan_table2,
)
from .results import (
                   NOTEBOOK_PARAMS,
                   NOTEBOOKS_DIR,
                   REPO_MARKER,
                   RESULT,
                   atomic_write_json,
                   normalise,
                   params_from,
                   portable_params,
                   read_result,
                   resolve_params,
                   resumed_from,
                   set_threads,
                   write_result,
)
from .runner import RUNTIME_PARAMS, RunRecord, describe_failure, execute, is_finished, run_all
from .scoring import eval_config, generated_codes, real_reference, score_generated, score_real
from .tables import (
                   PAPER_TABLE1,
                   PAPER_TABLE2,
                   TABLE2_METHODS,
                   build_table,
                   fraction_label,
                   label_fraction,
                   load_table,
                   pooled_table2,
                   runs_table,
                   table1,
                   table2,
                   table2_of_rows,
                   table2_rows,
                   write_csv,
                   write_runs_csv,
)
from .training import CHECKPOINT, ggan_trainer_for_run

__all__ = [
    "GENERATOR_KINDS", "load_generator",
    "CLAIM", "claim_run", "claimed_elsewhere", "release_run",
    "audio_cfg", "data_source", "load_spectrograms", "load_waves",
    "git_commit", "machine", "read_manifest", "write_manifest",
    "RUN_DEFAULTS", "SHIPPED_CLASSIFIER", "Options", "Run", "baseline_run", "classifier_run", "default_out",
    "evaluate_run", "ggan_run", "plan", "plan_table1", "plan_table2",
    "NOTEBOOK_PARAMS", "NOTEBOOKS_DIR", "REPO_MARKER", "RESULT", "atomic_write_json", "normalise", "params_from",
    "portable_params", "read_result", "resolve_params", "resumed_from", "set_threads", "write_result",
    "RUNTIME_PARAMS", "RunRecord", "describe_failure", "execute", "is_finished", "run_all",
    "eval_config", "generated_codes", "real_reference", "score_generated", "score_real",
    "PAPER_TABLE1", "PAPER_TABLE2", "TABLE2_METHODS", "build_table", "fraction_label", "label_fraction", "load_table", "table1", "table2",
    "table2_rows", "write_csv", "pooled_table2", "table2_of_rows", "runs_table", "write_runs_csv",
    "CHECKPOINT", "ggan_trainer_for_run",
]
