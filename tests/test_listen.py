"""Your own recordings: classify / judge a folder, generate c{class}_{i}.wav (python -m ggan_lib ...)."""
import re

import numpy as np
import pytest
import soundfile as sf

from ggan_lib.cli import classify as classify_cli
from ggan_lib.cli import generate as generate_cli
from ggan_lib.cli import judge as judge_cli
from ggan_lib.config import ModelConfig, TrainConfig
from ggan_lib.data import default_fsdd_dir, synthetic_data
from ggan_lib.experiments import listen
from ggan_lib.train.ggan import Trainer


@pytest.mark.parametrize("name, label", [("7_jackson_32.wav", 7), ("c3_0.wav", 3), ("c12_4.flac", 12),
                                         ("hello.wav", None), ("7_jackson.wav", None), ("cx_1.wav", None)])
def test_label_from_name(name, label):
    assert listen.label_from_name(name) == label


def test_report_lines_and_accuracy():
    preds = [listen.Prediction("a.wav", 1, 0.9, 1), listen.Prediction("b.wav", 2, 0.5, 3),
             listen.Prediction("x.wav", 0, 0.7, None)]
    assert listen.report_lines(preds) == ["a.wav\t1\t0.900", "b.wav\t2\t0.500", "x.wav\t0\t0.700",
                                          "accuracy: 0.500 (n=2)"]
    assert listen.report_lines(preds[2:]) == ["x.wav\t0\t0.700"]  # no label known: no accuracy line


def test_empty_or_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no audio files"):
        listen.audio_files(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        listen.audio_files(tmp_path / "nope")


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    mcfg = ModelConfig.preset("tiny")
    X, Xl, yl = synthetic_data(mcfg)
    tr = Trainer(mcfg, TrainConfig.preset("tiny", progress=False, tensorboard=False), X, Xl, yl)
    tr.train(2)
    return tr.save(tmp_path_factory.mktemp("run") / "checkpoint.pt")


def test_generate_then_classify_a_folder(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "gen"
    assert generate_cli.main(["--model", str(tiny_checkpoint), "--per-class", "2", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"c{c}_{i}.wav" for c in range(10) for i in range(2))
    wave, sr = sf.read(out / "c3_1.wav")
    assert sr == 16000 and wave.shape == (16000,) and np.isfinite(wave).all()
    capsys.readouterr()
    # a file at another sample rate is read too (resampled to 16 kHz)
    sf.write(out / "c4_9.wav", np.asarray(sf.read(out / "c4_0.wav")[0][::2], np.float32), 8000)
    assert classify_cli.main(["--model", str(tiny_checkpoint), str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 21 + 1
    for line in lines[:-1]:
        name, pred, conf = line.split("\t")
        assert re.fullmatch(r"c\d_\d\.wav", name) and 0 <= int(pred) < 10 and 0.0 < float(conf) <= 1.0
    assert re.fullmatch(r"accuracy: [01]\.\d{3} \(n=21\)", lines[-1])


def test_judge_hears_real_digits(tmp_path, capsys):
    src = default_fsdd_dir()
    for name in ("0_george_0.wav", "3_jackson_1.wav", "7_theo_2.wav", "9_nicolas_3.wav"):
        (tmp_path / name).write_bytes((src / name).read_bytes())
    assert judge_cli.main([str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5 and lines[-1].startswith("accuracy: ") and lines[-1].endswith("(n=4)")
    assert float(lines[-1].split()[1]) >= 0.75  # the shipped classifier: 95.6 % on FSDD's test takes
