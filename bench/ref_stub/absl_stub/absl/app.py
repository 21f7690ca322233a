"""Minimal absl.app.run: parses the flags, calls main(argv), exits with its result."""
import sys

from absl import flags


def run(main, argv=None):
    rest = flags.parse(list(sys.argv if argv is None else argv))
    sys.exit(main(rest))
