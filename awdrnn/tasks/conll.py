"""CoNLL-format sequence-tagging files (one token a line) and their tag vocabulary.

A CoNLL file (the CoNLL-2003 NER shared task: `word POS chunk NER`) has one
token per line, fields separated by whitespace, the word first and the tag in
`tag_column` (default: the last field); a blank line ends a sentence and
`-DOCSTART-` lines mark documents. Tags are entity tags: `O` (outside) or
`B-TYPE` / `I-TYPE` (IOB1 as in the original CoNLL-2003 files, or IOB2/BIO):

    import os, tempfile
    from awdrnn.tasks import conll
    path = os.path.join(tempfile.mkdtemp(), "train.txt")
    with open(path, "w") as f:
        f.write("-DOCSTART- -X- -X- O\\n\\nEU NNP I-NP I-ORG\\nrejects VBZ I-VP O\\n"
                "German JJ I-NP I-MISC\\ncall NN I-NP O\\n\\nPeter NNP I-NP I-PER\\n")
    sentences = conll.read_conll(path)
    print(sentences[1])        # Sentence(words=['Peter'], tags=['I-PER'])
    tag_map = conll.TagMap.from_sentences(sentences)
    print(tag_map.names)       # ('O', 'I-MISC', 'I-ORG', 'I-PER')
    print(tag_map.ids(sentences[0].tags, where="train.txt"))  # [2 0 1 0]

The file is read through `text_files.read_lines` (UTF-8 and line length
checked); a bad line raises `TextError` naming the file and the line.
"""

import collections
import re

import numpy as np

from awdrnn.text import text_files
from awdrnn.text.text_files import DEFAULT_MAX_LINE_BYTES, TextError

Sentence = collections.namedtuple("Sentence", ["words", "tags"])
Sentence.__doc__ = """One sentence: `words` and `tags`, two lists of str of the same length."""

DOCSTART = "-DOCSTART-"
OUTSIDE = "O"
_TAG = re.compile(r"(O|[BI]-\S+)\Z")


def is_tag(tag):
    """Whether `tag` is `O`, `B-TYPE` or `I-TYPE` (IOB1, IOB2/BIO)."""
    return isinstance(tag, str) and _TAG.match(tag) is not None


def read_conll(path, tag_column=-1, max_line_bytes=DEFAULT_MAX_LINE_BYTES):
    """The sentences of a CoNLL file: a list of `Sentence(words, tags)`.

    Args:
      path: the file: one token per line, whitespace-separated fields, the word
        in the first field; a blank line ends a sentence (more than one is fine,
        and the last sentence needs none); a line whose word is `-DOCSTART-`
        marks a document and is skipped (it ends the sentence before it).
      tag_column: index of the tag among a line's fields (Python indexing:
        -1, the last, is CoNLL-2003's NER column; 3 also; -2 its chunk tags);
        it must not be the word's (0).
      max_line_bytes: longest line allowed, in UTF-8 bytes.

    Returns:
      the sentences in file order, each with at least one token.

    Raises:
      TextError: the file is missing, not UTF-8 or has a too long line; a token
        line has fewer than 2 fields (its word and tag cannot be paired) or no
        field `tag_column`; a tag is not `O`, `B-TYPE` or `I-TYPE`; the file has
        no sentence.
      ValueError: `tag_column` is not an int or names the word's field.
    """
    if isinstance(tag_column, bool) or not isinstance(tag_column, int):
        raise ValueError(f"read_conll: tag_column must be an int (a field index; -1: the "
                         f"last field), got {tag_column!r}")
    if tag_column == 0:
        raise ValueError("read_conll: tag_column=0 is the word's field; give the tag's "
                         "(e.g. -1, the last field)")
    sentences, words, tags = [], [], []
    for lineno, line in text_files.read_lines(path, max_line_bytes):
        fields = line.split()
        if not fields or fields[0] == DOCSTART:
            if words:
                sentences.append(Sentence(words, tags))
                words, tags = [], []
            continue
        where = f"{path}, line {lineno}"
        if len(fields) < 2:
            raise TextError(f"{where}: one field ({fields[0]!r}) where a token line has "
                            f"`word ... tag`: words and tags differ in number; add the "
                            f"tag or remove the line")
        if not -len(fields) <= tag_column < len(fields) or tag_column in (0, -len(fields)):
            raise TextError(f"{where}: {len(fields)} fields, no tag in field "
                            f"tag_column={tag_column} (the word is field 0); fix the line "
                            f"or give the tag's column")
        tag = fields[tag_column]
        if not is_tag(tag):
            raise TextError(f"{where}: tag {tag!r} (field {tag_column}) is neither O nor "
                            f"B-TYPE / I-TYPE (IOB1, IOB2/BIO tags only); fix the tag or "
                            f"give the tag's column with tag_column")
        words.append(fields[0])
        tags.append(tag)
    if words:
        sentences.append(Sentence(words, tags))
    if not sentences:
        raise TextError(f"{path}: no sentence (no token line); give a CoNLL file: one "
                        f"`word ... tag` line per token, a blank line after each sentence")
    return sentences


def _tag_problem(name):
    """Why `name` is not a tag of a tag map file, or None."""
    if is_tag(name):
        return None
    return f"{name!r} is neither O nor B-TYPE / I-TYPE; a tag file has one tag per line"


class TagMap:
    """The tag vocabulary of a tagging task: tag strings <-> int ids `0 .. len - 1`.

    Args:
      names: the tags in id order, distinct, each `O`, `B-TYPE` or `I-TYPE`.

    Attributes:
      names: the tags, a tuple of str; `names[i]` has id `i`.

    Raises (constructor):
      ValueError: `names` is empty, has a duplicate or a tag that is not
        `O`, `B-TYPE` or `I-TYPE`.
    """

    def __init__(self, names):
        names = tuple(names)
        if not names:
            raise ValueError("TagMap: names is empty; give at least one tag (e.g. 'O')")
        bad = [name for name in names if not is_tag(name)]
        if bad:
            raise ValueError(f"TagMap: {bad[0]!r} is neither O nor B-TYPE / I-TYPE (IOB1, "
                             f"IOB2/BIO tags only)")
        seen = set()
        for name in names:
            if name in seen:
                raise ValueError(f"TagMap: tag {name!r} given twice; tags must be distinct")
            seen.add(name)
        self.names = names
        self._ids = {name: i for i, name in enumerate(names)}

    @classmethod
    def from_sentences(cls, sentences):
        """The map of every tag in `sentences` (`Sentence`s or `(words, tags)`
        pairs): `O` first (id 0, also when absent), then the others sorted."""
        found = {tag for sentence in sentences for tag in sentence[1]}
        found.discard(OUTSIDE)
        return cls((OUTSIDE,) + tuple(sorted(found)))

    def ids(self, tags, where=""):
        """The ids of a sequence of tags: an int32 array `[len(tags)]`.

        Args:
          tags: tag strings.
          where: names the tags' origin in the error message (e.g.
            "valid.txt line 12").

        Raises:
          TextError: a tag is not in the map; the message names it and lists the
            known tags.
        """
        out = np.empty([len(tags)], np.int32)
        for i, tag in enumerate(tags):
            index = self._ids.get(tag)
            if index is None:
                prefix = f"{where}: " if where else ""
                raise TextError(f"{prefix}tag {tag!r} is not in the tag map (known: "
                                f"{', '.join(self.names)}); fix the tag, or build the map "
                                f"from data that has it (TagMap.from_sentences)")
            out[i] = index
        return out

    def tags(self, ids):
        """The tag strings of a sequence of ids (a list of str).

        Raises:
          ValueError: an id is outside `[0, len(self))`.
        """
        ids = np.asarray(ids).reshape(-1)
        out = []
        for i in ids.tolist():
            if not (isinstance(i, int) and 0 <= i < len(self.names)):
                raise ValueError(f"TagMap.tags: id {i!r} is outside [0, {len(self.names)}), "
                                 f"the ids of this map")
            out.append(self.names[i])
        return out

    def save(self, path):
        """Writes the tags, one per line in id order, atomically."""
        text_files.write_name_list(path, self.names)

    @classmethod
    def load(cls, path):
        """The map written by `save`.

        Raises:
          TextError: as `text_files.read_name_list` (a bad file, a blank line, a
            tag given twice, no tags), or a line that is not a tag.
        """
        return cls(text_files.read_name_list(path, "tag", check=_tag_problem))

    def __len__(self):
        return len(self.names)

    def __eq__(self, other):
        if not isinstance(other, TagMap):
            return NotImplemented
        return self.names == other.names

    def __hash__(self):
        return hash(self.names)

    def __repr__(self):
        return f"TagMap({list(self.names)!r})"
