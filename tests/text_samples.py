"""Generated raw text shared by the subword and in-graph tokenizer tests."""

import random

_WORDS = ("the cat dog river Paris house saw ran quickly under over a an of and "
          "Government report said percent million 1996 U.S. don't it's well-known "
          "café naïve Zürich São Paulo 東京 大学 Москва 😀 — – “quoted” ‘single’ "
          "…").split()
_PUNCT = [",", ".", ";", ":", "!", "?", "(", ")", '"', "'", "-", "/", "%", "$"]


def generated_lines(n, seed=0):
    """`n` lines of mixed-case words, punctuation, digits and non-ASCII text
    (accents, Cyrillic, CJK, emoji, typographic quotes, full-width and
    compatibility characters that NFKC changes), with odd spacing."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        tokens = []
        for _ in range(rng.randint(1, 20)):
            r = rng.random()
            if r < 0.7:
                word = rng.choice(_WORDS)
                tokens.append(word.upper() if rng.random() < 0.05 else word)
            elif r < 0.85:
                tokens.append(rng.choice(_PUNCT))
            elif r < 0.95:
                tokens.append(str(rng.randint(0, 10 ** rng.randint(1, 6))))
            else:
                tokens.append(rng.choice(["ＡＢＣ", "ﬁne", "½", "x²", "Ⅻ", "\t", "  "]))
        lines.append(" ".join(tokens))
    return lines


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)
