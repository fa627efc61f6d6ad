"""``python -m ggan_lib <command> [options]``: the library's commands in one place.

Each command is also ``python -m ggan_lib.cli.<command>``; ``python -m ggan_lib <command> --help`` lists its options.
"""
import sys

from ggan_lib.cli import baselines, book, classifier, classify, gender, generate, judge, pretrained, reproduce, train

COMMANDS = {
    "train": (train.main, "train GGAN with Algorithm 1 (resumable, monitored)"),
    "reproduce": (reproduce.main, "run the papermill notebooks behind Table I / Table II and build the tables"),
    "baselines": (baselines.main, "the CNN baseline's rows of Table II on FSDD"),
    "classifier": (classifier.main, "train the metric classifier used for IS / FID"),
    "gender": (gender.main, "gender guidance from another corpus (train, export, measure)"),
    "pretrained": (pretrained.main, "export / measure a trained GGAN as a shipped model"),
    "classify": (classify.main, "GGAN's Cx(F(D(x))) on a folder of your own recordings"),
    "judge": (judge.main, "the metric classifier (the judge of IS / FID) on a folder of recordings"),
    "generate": (generate.main, "write a model's generated clips, c{class}_{i}.wav"),
    "book": (book.main, "book helpers (sync-colab)"),
}


def main(argv=None) -> int:
    """Dispatch to the command's own main(argv)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        width = max(map(len, COMMANDS))
        lines = [f"  {name:<{width}}  {what}" for name, (_, what) in COMMANDS.items()]
        print("usage: python -m ggan_lib <command> [options]\n\ncommands:\n" + "\n".join(lines))
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    result = COMMANDS[argv[0]][0](argv[1:])
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
