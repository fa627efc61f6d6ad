"""The speaker-disjoint split (the paper's protocol): 'fsdd:test=<speaker>' data specs and Table II over folds."""
import pandas as pd
import pytest
from conftest import write_tone  # tests/ is on sys.path (rootdir conftest)

from ggan_lib.cli import reproduce as cli
from ggan_lib.data import folder_speakers, list_digit_folder
from ggan_lib.data.splits import data_spec, parse_data_spec
from ggan_lib.experiments import reproduce as rp
from ggan_lib.experiments.reproduce import runner


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """10 digits x 2 speakers x takes 0, 1, 5, 6 of short tones, and a private spectrogram cache."""
    root = tmp_path_factory.mktemp("speakers") / "digits"
    for d in range(10):
        for s, speaker in enumerate(("alice", "bob")):
            for take in (0, 1, 5, 6):
                write_tone(root / f"{d}_{speaker}_{take}.wav", 200 + 60 * d + 7 * s + take)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GGAN_CACHE_DIR", str(root.parent / "cache"))
        yield root


def test_data_spec_round_trip():
    assert data_spec("fsdd") == "fsdd" and parse_data_spec("fsdd") == ("fsdd", None)
    assert data_spec("fsdd", "george") == "fsdd:test=george"
    assert parse_data_spec("/x/y:test=theo") == ("/x/y", "theo")
    with pytest.raises(ValueError, match="no speaker"):
        parse_data_spec("fsdd:test=")


def test_a_held_out_speaker_is_the_whole_test_set(digits):
    assert folder_speakers(digits) == ["alice", "bob"]
    test = list_digit_folder(digits, "test", "alice")
    train = list_digit_folder(digits, "train", "alice")
    assert len(test) == len(train) == 40
    assert all("_alice_" in p.name for p, _ in test) and all("_bob_" in p.name for p, _ in train)
    usual = list_digit_folder(digits, "test")  # FSDD's usual split: takes 0-4 of every speaker
    assert {p.name.split("_")[1] for p, _ in usual} == {"alice", "bob"}
    with pytest.raises(ValueError, match="carol"):
        list_digit_folder(digits, "test", "carol")


def test_spectrograms_and_waves_of_a_fold(digits):
    X, y = rp.load_spectrograms(data_spec(str(digits), "bob"), "test", "tiny")
    Xt, yt = rp.load_spectrograms(data_spec(str(digits), "bob"), "train", "tiny")
    assert X.shape == Xt.shape == (40, 1, 16, 8) and sorted(y.tolist()) == sorted(yt.tolist())
    waves, labels = rp.load_waves(data_spec(str(digits), "bob"), "test")
    assert waves.shape[0] == 40 and sorted(labels.tolist()) == sorted(y.tolist())


def test_out_folder_and_notebook_data_name_the_fold(digits):
    assert rp.default_out("fsdd:test=theo", "small").name == "fsdd-small-test-theo"
    a = cli.parse_args(["--table", "2", "--data", str(digits), "--test-speaker", "alice"])
    o = cli.options(a)
    assert o.data_path() == f"{digits.resolve()}:test=alice" and o.out.name == "digits-small-test-alice"


ACC = {"alice": 0.5, "bob": 0.7}


def _fake_execute(run, out, **_):
    """Write a result.json with protocol rows whose accuracy depends on the held-out speaker."""
    speaker = parse_data_spec(run.params["data"])[1]
    p = run.params
    if "fraction" in p:  # a GGAN run
        jobs = [(p["fraction"], p["draw"], "GGAN")]
    else:
        meth = {"cnn": "CNN", "unsupervised": "Unsupervised GAN"}[p["method"]]
        jobs = [(f, d, meth) for f in p["fractions"] for d in range(p["draws"])]
    rows = [{"method": m, "fraction": f, "draw": d, "accuracy": ACC[speaker] + 0.01 * d} for f, d, m in jobs]
    rp.write_result(out / "runs" / run.name, run.notebook, run.params, {"rows": rows})
    return rp.RunRecord(run.name, run.notebook, "done")


def test_table2_rotates_and_pools_the_folds(digits, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner, "execute", _fake_execute)
    argv = ["--table", "2", "--preset", "tiny", "--data", str(digits), "--test-speaker", "all", "--fractions",
            "0.05", "--draws", "2", "--out", str(tmp_path / "folds"), "--no-progress"]
    assert cli.main(argv) == 0
    for speaker in ("alice", "bob"):
        part = pd.read_csv(tmp_path / "folds" / f"test-{speaker}" / "table2.csv")
        assert part.iloc[0]["GGAN n"] == 2
        assert part.iloc[0]["GGAN mean"] == pytest.approx(100 * (ACC[speaker] + 0.005))
    pooled = pd.read_csv(tmp_path / "folds" / "table2.csv")
    first = pooled.iloc[0]
    assert first["fraction"] == 0.05 and first["GGAN n"] == first["CNN n"] == 4  # 2 folds x 2 draws
    assert first["GGAN mean"] == pytest.approx(100 * (0.5 + 0.7 + 0.01) / 2)
    assert (tmp_path / "folds" / "table2.md").exists()
    assert "pooled over 2 held-out speakers" in capsys.readouterr().out
    (tmp_path / "folds" / "test-bob" / "runs" / "cnn_f5" / "result.json").unlink()  # a fold not complete
    monkeypatch.setattr(runner, "execute", lambda run, out, **_: rp.RunRecord(run.name, run.notebook, "failed"))
    assert cli.main([*argv, "--keep-going"]) == 1
    assert not (tmp_path / "folds" / "table2.csv").exists() and not (tmp_path / "folds" / "table2.md").exists()
    assert (tmp_path / "folds" / "table2_runs.csv").exists()
    assert "pooled Table II not written: 1 of" in capsys.readouterr().out


def test_every_run_is_listed_with_its_budget_and_cpu_time(digits, tmp_path, monkeypatch):
    """table2_runs.csv: one row per planned run of every fold, its budget parameters and the CPU seconds of
    the process that wrote its result (here the test process, so at least the time this test has used)."""
    import time
    monkeypatch.setattr(runner, "execute", _fake_execute)
    argv = ["--table", "2", "--preset", "tiny", "--data", str(digits), "--test-speaker", "all", "--fractions",
            "0.01", "0.05", "--draws", "2", "--out", str(tmp_path / "folds"), "--no-progress",
            "--iters", "ggan=7", "cnn=5"]
    assert cli.main(argv) == 0
    runs = pd.read_csv(tmp_path / "folds" / "table2_runs.csv")
    fold = pd.read_csv(tmp_path / "folds" / "test-alice" / "table2_runs.csv")
    assert list(runs["test_speaker"].unique()) == ["alice", "bob"] and len(runs) == 2 * len(fold)
    ggan = runs[runs["notebook"] == "train_ggan"]
    assert len(ggan) == 2 * 2 * 2 and set(ggan["budget"]) == {"iters=7"}  # folds x fractions x draws
    assert (ggan["resumed_from"] == 0).all() and runs.loc[runs["notebook"] != "train_ggan", "resumed_from"].isna().all()
    cnn = runs[runs["method"] == "cnn"]
    assert cnn["budget"].str.contains("cnn_iters=5").all()
    assert runs["finished"].notna().all() and (runs["cpu_s"] > 0).all()
    assert (runs["cpu_s"] <= time.process_time() + 1).all()


def test_fraction_labels_round_trip_and_sort_by_fraction():
    assert [rp.fraction_label(f) for f in (0.01, 0.05, 0.1, 1.0, None)] == ["1 %", "5 %", "10 %", "100 %", "unknown"]
    assert rp.label_fraction("5 %") == pytest.approx(0.05)
    assert sorted(["10 %", "5 %", "0.5 %"], key=rp.label_fraction) == ["0.5 %", "5 %", "10 %"]


def test_fold_verdict_compares_ggan_with_both_baselines_where_every_draw_is_in():
    from ggan_lib.book import reports
    acc = {("a", "CNN"): [20, 30], ("a", "Unsupervised GAN"): [10, 20], ("a", "GGAN"): [24, 28],
           ("b", "CNN"): [20, 20], ("b", "Unsupervised GAN"): [40, 40], ("b", "GGAN"): [30, 31],
           ("c", "CNN"): [50, 50], ("c", "Unsupervised GAN"): [50, 50], ("c", "GGAN"): [60]}  # c: one GGAN draw
    draws = pd.DataFrame([{"held-out speaker": spk, "method": m, "labels": "5 %", "draw": d, "accuracy": v}
                          for (spk, m), vals in acc.items() for d, v in enumerate(vals)])
    v = reports.fold_verdict(draws, n_draws=2)
    assert list(v.index.get_level_values(0)) == ["a", "b"]
    assert v.loc[("a", "5 %"), "GGAN"] == 26.0 and v.loc[("a", "5 %"), "CNN"] == 25.0
    assert v["GGAN > CNN"].tolist() == [True, True] and v["GGAN > unsupervised"].tolist() == [True, False]
    assert reports.fold_verdict(draws, n_draws=3) is None and reports.fold_verdict(None) is None
    pairs = reports.paired_differences(draws).loc[("5 %", "CNN")]  # c's draw 1 has no GGAN: not a pair
    assert (pairs["pairs"], pairs["mean"], pairs["GGAN wins"], pairs["min"], pairs["max"]) == (5, 6.6, 4, -2, 11)
    assert reports.paired_differences(draws[draws["method"] != "GGAN"]) is None
    from ggan_lib.book import readings
    text = readings.fold_verdict_reading(v)
    assert "above the CNN's in 2 of 2 folds and above the unsupervised GAN's in 1 of 2 folds" in text
    assert "above both baselines' in 1 of 2 fold-and-fraction cells (a at 5 %)" in text
    neither = v.assign(**{"GGAN > unsupervised": False})
    assert "above both baselines' in none of the 2 fold-and-fraction cells" in readings.fold_verdict_reading(neither)
    assert text.startswith("So far,") and "once every fold has run" in text
    final = readings.fold_verdict_reading(v, complete=True)  # every fold in: the verdict, no "so far"
    assert final.startswith("With every fold in,") and final.endswith("that does not hold here.")
    assert readings.fold_verdict_reading(v.assign(**{"GGAN > unsupervised": True}), complete=True).endswith(
        "that holds here too.")
    import matplotlib
    matplotlib.use("Agg")
    from ggan_lib.book import viz
    two = pd.concat([draws, draws.assign(labels="10 %")])  # by fraction, not as text ("10 %" < "5 %")
    fig = viz.plot_fold_draws(two)
    assert [a.get_title() for a in fig.axes] == ["5 % labels", "10 % labels"]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b", "c"]


def test_the_book_sees_where_the_folds_stand(digits, tmp_path, monkeypatch):
    """reports.speaker_folds: None before the batch; then a row per held-out speaker with its finished runs.
    reports.run_costs: a row per finished run, of every fold or of one, with its CPU minutes."""
    from ggan_lib.book import reports
    assert reports.speaker_folds(tmp_path / "folds") is None and reports.run_costs(tmp_path / "folds") is None
    monkeypatch.setattr(runner, "execute", _fake_execute)
    argv = ["--table", "2", "--preset", "tiny", "--data", str(digits), "--test-speaker", "all", "--fractions",
            "0.05", "--draws", "1", "--out", str(tmp_path / "folds"), "--no-progress"]
    assert cli.main(argv) == 0
    folds = reports.speaker_folds(tmp_path / "folds")
    n_runs = len(pd.read_csv(tmp_path / "folds" / "test-alice" / "table2_runs.csv"))
    assert list(folds.index) == ["alice", "bob"] and (folds["runs finished"] == n_runs).all()
    assert folds["complete"].all() and (folds["runs planned"] == n_runs).all() and (folds["CPU h (recorded)"] >= 0).all()
    # a fold table written by a runner that left a run to others is not a complete fold
    res = tmp_path / "folds" / "test-bob" / "runs" / "ggan_f5_d0" / "result.json"
    res.rename(res.with_name("aside.json"))
    partial = reports.speaker_folds(tmp_path / "folds")
    assert (tmp_path / "folds" / "test-bob" / "table2.csv").is_file()
    assert partial.loc["alice", "complete"] and not partial.loc["bob", "complete"]
    assert partial.loc["bob", "runs finished"] == n_runs - 1
    draws = reports.fold_draws(tmp_path / "folds")  # every scored draw below 100 %, finished fold or not
    assert len(draws) == 3 + 2 and set(draws["labels"]) == {"5 %"}  # bob's GGAN draw is aside
    assert draws.loc[draws["held-out speaker"] == "alice", "accuracy"].round(6).eq(50.0).all()
    verdict = reports.fold_verdict(draws, n_draws=1)
    assert list(verdict.index) == [("alice", "5 %")]  # bob lacks a method: no verdict for that fold yet
    manifest = tmp_path / "folds" / "test-bob" / "manifest.json"
    manifest.rename(manifest.with_name("aside-manifest.json"))  # a fold without a manifest: planned unknown
    unknown = reports.speaker_folds(tmp_path / "folds")
    assert str(unknown["runs planned"].dtype) == "Int64" and unknown["runs planned"].isna().tolist() == [False, True]
    assert unknown.loc["alice", "runs planned"] == n_runs and not unknown.loc["bob", "complete"]
    manifest.with_name("aside-manifest.json").rename(manifest)
    res.with_name("aside.json").rename(res)
    assert len(reports.fold_verdict(reports.fold_draws(tmp_path / "folds"), n_draws=1)) == 2
    costs = reports.run_costs(tmp_path / "folds")
    assert len(costs) == 2 * n_runs and list(costs["held-out speaker"].unique()) == ["alice", "bob"]
    assert costs["cpu_min"].notna().all() and set(costs.loc[costs["notebook"] == "train_ggan", "resumed_from"]) == {0}
    one = reports.run_costs(tmp_path / "folds" / "test-bob")
    assert "held-out speaker" not in one and list(one["run"]) == list(costs["run"][costs["held-out speaker"] == "bob"])
