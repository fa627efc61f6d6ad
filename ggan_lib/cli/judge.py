"""``python -m ggan_lib judge FOLDER``: what the metric classifier (the judge behind IS / FID) hears.

Prints ``NAME<TAB>PREDICTED<TAB>CONFIDENCE`` per file, then ``accuracy: 0.xxx (n=N)`` over the files whose
names give a label (``{digit}_{speaker}_{take}.wav`` or ``c{class}_{i}.wav``).
"""
import argparse
import sys

from ggan_lib.experiments.listen import audio_files, judge_files, report_lines
from ggan_lib.io.paths import SHIPPED_CLASSIFIER
from ggan_lib.metrics.classifier import load_classifier


def main(argv=None) -> int:
    """Classify every audio file of FOLDER with the metric classifier."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="folder of audio files (any sample rate)")
    p.add_argument("--classifier", default=str(SHIPPED_CLASSIFIER), help="metric classifier checkpoint")
    p.add_argument("--batch-size", type=int, default=64)
    a = p.parse_args(argv)
    preds = judge_files(load_classifier(a.classifier), audio_files(a.folder), batch_size=a.batch_size)
    print("\n".join(report_lines(preds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
