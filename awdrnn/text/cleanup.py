"""Optional cleanup of raw text before SentencePiece: punctuation spacing and
one sentence per line.

Corpora such as WikiText and PTB come tokenized (`weigh 0 @.@ 7 kg ( 1 @.@ 5
lb ) , although ...`); SentencePiece models are meant for text as people
write it. `detokenize` puts the punctuation back in place, `split_sentences`
cuts a paragraph into sentences, and `clean_file` does both to a file:

    from awdrnn.text import cleanup
    cleanup.detokenize("weigh 0 @.@ 7 kg ( 1 @.@ 5 lb ) , although it 's red")
    # -> 'weigh 0.7 kg (1.5 lb), although it's red'
    cleanup.split_sentences("H. gammarus is red. Mr. Smith saw it! Did he?")
    # -> ['H. gammarus is red.', 'Mr. Smith saw it!', 'Did he?']

Both are rules for English, not a parser: a sentence ending in an
abbreviation or initials ("... in the U.S. Then") is not split, and a
tokenized `"` is taken as opening and closing in turn.
"""

import re

from awdrnn.text import text_files
from awdrnn.text.text_files import DEFAULT_MAX_LINE_BYTES

_RULES = [
    (re.compile(r" @([-.,])@ "), r"\1"),                       # WikiText: 0 @.@ 7 -> 0.7
    (re.compile(r" ([,.;:!?%)\]}])"), r"\1"),                  # no space before closers
    (re.compile(r"([(\[{$£€]) "), r"\1"),                      # nor after openers, currency
    (re.compile(r" (n't|'s|'re|'ve|'m|'ll|'d)\b", re.I), r"\1"),  # do n't -> don't
]
# Words whose final period does not end a sentence.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr mt gen col lt sgt capt rev gov sen rep vs etc "
    "e.g i.e al inc ltd co corp no nos vol pp fig jan feb mar apr jun jul aug sep "
    "sept oct nov dec approx ca cf".split())
_BOUNDARY = re.compile(r"""[.!?]+["'”’)\]]*\s+(?=["'“‘(\[]?[A-Z0-9])""")


def detokenize(line):
    """Puts the spacing of tokenized text back as written.

    Joins WikiText's ` @-@ `, ` @.@ `, ` @,@ `; removes the space before
    `, . ; : ! ? % ) ] }` and after `( [ { $ £ €`; rejoins `n't 's 're 've
    'm 'll 'd`; attaches `"` to the following word when it opens a quote and
    to the preceding one when it closes it; collapses runs of whitespace.
    Spaced dashes between numbers (`5 – 6`) are kept as they are.
    """
    tokens = line.split()
    out, quote_open = [], False
    for token in tokens:
        if token == '"':
            if quote_open and out:
                out[-1] += '"'
            else:
                out.append('"\0')          # glued to the next token below
            quote_open = not quote_open
        elif out and out[-1].endswith("\0"):
            out[-1] = out[-1][:-1] + token
        else:
            out.append(token)
    text = " ".join(t.rstrip("\0") for t in out)
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def split_sentences(text):
    """Splits a paragraph into sentences: a list of stripped strings.

    A sentence ends at `.`, `!` or `?` (with any closing quotes or brackets)
    followed by white space and a capital letter, a digit, or an opening
    quote or bracket, unless the word before the period is a known
    abbreviation (`Mr.`, `e.g.`, `Jan.`, ...) or a single letter (an initial,
    `H. gammarus`).
    """
    sentences, start = [], 0
    for match in _BOUNDARY.finditer(text):
        words = text[start:match.start() + 1].split()
        last = words[-1].strip("\"'“‘([.!?").lower() if words else ""
        initial = len(last) == 1 and last.isalpha()
        if text[match.start()] == "." and (last in _ABBREVIATIONS or initial or "." in last):
            continue
        sentences.append(text[start:match.end()].strip())
        start = match.end()
    rest = text[start:].strip()
    return sentences + [rest] if rest else sentences


def clean_file(input_path, output_path, detokenize_text=True, one_sentence_per_line=True,
               max_line_bytes=DEFAULT_MAX_LINE_BYTES):
    """Writes a cleaned copy of a UTF-8 text file, atomically.

    Each non-blank input line is detokenized (optional) and split into
    sentences, one per output line (optional); blank lines are dropped.

    Returns:
      the number of lines written.

    Raises:
      TextError: the input is missing, empty, not UTF-8, or has a line longer
        than `max_line_bytes` (checked before anything is written).
    """
    text_files.check_text_file(input_path, max_line_bytes)
    written = 0
    with text_files.atomic_write(output_path, "w") as f:
        for _, line in text_files.read_lines(input_path, max_line_bytes):
            if not line.strip():
                continue
            line = detokenize(line) if detokenize_text else " ".join(line.split())
            for sentence in split_sentences(line) if one_sentence_per_line else [line]:
                f.write(sentence + "\n")
                written += 1
    return written
