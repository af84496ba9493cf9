"""Command line: encode texts or sentence pairs into model inputs, one JSON object per line.

    python -m albert_edge.tokenize --vocab albert_edge/resources/vocab.txt --max-seq-len 64 < lines

Input (stdin, UTF-8): one example per line; a line is one text, or two texts separated by a TAB
(a sentence pair). Lines end with \\n; a \\r right before it is dropped (CRLF files); a last line
without \\n still counts. Output (stdout): per input line, the compact JSON
`{"input_ids":[...],"input_mask":[...],"segment_ids":[...]}` padded to --max-seq-len.

`android_demo/core/tokenize` (the Java port) takes the same arguments and must print
byte-identical output; tests/test_tokenization.py checks that on a real file.

Exit status: 0 on success; 2 for a usage or input error (missing vocab, invalid UTF-8, more than
one TAB on a line, --max-seq-len too small), with a one-line message naming what and where.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from albert_edge import tokenization
from albert_edge.cli import MAX_SEQ_LEN, describe_os_error

logger = logging.getLogger(__name__)


class InputError(Exception):
    """A problem with the user's input; reported on stderr without a traceback, exit 2."""


def split_lines(data: bytes) -> list[bytes]:
    """Splits stdin bytes into lines: on \\n only, dropping one trailing \\r per line.

    Not str.splitlines(): that also breaks on U+2028, \\x0b, \\x1c... which may sit inside a text
    and must reach the tokenizer (the Java CLI splits the same way).
    """
    if not data:
        return []
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def parse_line(raw: bytes, line_no: int) -> tuple[str, str | None]:
    """One line -> (text_a, text_b or None)."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"line {line_no}: not valid UTF-8 (byte {e.start}); re-encode the file as UTF-8")
    fields = line.split("\t")
    if len(fields) == 1:
        return fields[0], None
    if len(fields) == 2:
        return fields[0], fields[1]
    raise InputError(
        f"line {line_no}: {len(fields)} tab-separated fields; expected one text or two texts "
        f"separated by one TAB (for a TSV with labels, e.g. `cut -f1,2 file.tsv`)"
    )


def encode_line(tokenizer: tokenization.FullTokenizer, raw: bytes, line_no: int, max_seq_len: int) -> str:
    """One input line -> its compact JSON output line (without the newline)."""
    text_a, text_b = parse_line(raw, line_no)
    try:
        enc = tokenizer.encode(text_a, text_b, max_seq_len=max_seq_len)
    except ValueError as e:
        raise InputError(f"line {line_no}: {e}")
    return json.dumps(enc.to_json_dict(), separators=(",", ":"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m albert_edge.tokenize",
        description="Encode one text or a TAB-separated sentence pair per stdin line into "
        "ALBERT inputs; prints one JSON object per line.",
    )
    parser.add_argument(
        "--vocab",
        default=tokenization.DEFAULT_VOCAB,
        help="vocabulary file, one token per line (default: the bundled albert_zh vocab.txt)",
    )
    parser.add_argument(
        "--max-seq-len",
        type=int,
        default=128,
        help="pad/truncate every example to this many tokens (>= 3; >= 4 for pairs; default 128)",
    )
    parser.add_argument(
        "--no-lower-case",
        action="store_true",
        help="keep case and accents (albert_zh models are uncased: leave this off)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.max_seq_len < tokenization.min_seq_len(is_pair=False):
        parser.error(f"--max-seq-len must be at least 3 (4 for sentence pairs), got {args.max_seq_len}")
    if args.max_seq_len > MAX_SEQ_LEN:   # a typo such as 1000000000 would allocate gigabytes per line
        parser.error(f"--max-seq-len must be at most {MAX_SEQ_LEN}, got {args.max_seq_len}")
    try:
        tokenizer = tokenization.FullTokenizer(args.vocab, do_lower_case=not args.no_lower_case)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        print(f"error: cannot load vocabulary: {e}\n  pass --vocab path/to/vocab.txt "
              f"(the bundled one is {tokenization.DEFAULT_VOCAB})", file=sys.stderr)
        return 2

    out = sys.stdout
    try:
        for line_no, raw in enumerate(split_lines(sys.stdin.buffer.read()), start=1):
            out.write(encode_line(tokenizer, raw, line_no, args.max_seq_len))
            out.write("\n")
    except InputError as e:
        out.flush()
        print(f"error: stdin {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `| head`: not an error
        return 0
    except OSError as e:   # a full or read-only disk under a redirected stdout: what was written stays
        print(f"error: {describe_os_error(e, 'cannot write stdout')}", file=sys.stderr)
        return 2
    try:
        out.flush()
    except BrokenPipeError:
        return 0
    except OSError as e:
        print(f"error: {describe_os_error(e, 'cannot write stdout')}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
