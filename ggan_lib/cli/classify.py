"""``python -m ggan_lib classify --model NAME FOLDER``: GGAN's Cx(F(D(x))) on your own recordings.

Prints ``NAME<TAB>PREDICTED<TAB>CONFIDENCE`` per file, then ``accuracy: 0.xxx (n=N)`` over the files whose
names give a label (``{digit}_{speaker}_{take}.wav`` or ``c{class}_{i}.wav``).
"""
import argparse
import sys

from ggan_lib.experiments.listen import audio_files, classify_files, report_lines
from ggan_lib.experiments.zoo import load_model


def main(argv=None) -> int:
    """Classify every audio file of FOLDER with a shipped or trained GGAN."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="folder of audio files (any sample rate)")
    p.add_argument("--model", default="ggan-fsdd-small",
                   help="a shipped model name, an exported .pt or a training checkpoint.pt")
    p.add_argument("--batch-size", type=int, default=64)
    a = p.parse_args(argv)
    preds = classify_files(load_model(a.model), audio_files(a.folder), batch_size=a.batch_size)
    print("\n".join(report_lines(preds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
