"""Raw text to ids: SentencePiece subword models (`subwords`), the same
tokenization inside a TF graph (`graph_tokenizer`, needs tensorflow-text,
import it by name), optional detokenizing and sentence splitting (`cleanup`),
raw-text corpora as id streams for language models (`subword_corpus`), and
checked reading / atomic writing of text files (`text_files`), a TSV column
as text (`tsv_text`). See
doc/subwords.md and doc/language_model.md."""

from awdrnn.text import cleanup
from awdrnn.text import subword_corpus
from awdrnn.text import subwords
from awdrnn.text import text_files
from awdrnn.text import tsv_text
from awdrnn.text.text_files import TextError

__all__ = ["TextError", "cleanup", "subword_corpus", "subwords", "text_files", "tsv_text"]
