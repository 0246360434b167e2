"""A generated corpus with a known entropy floor, for demos and tests.

Text is sampled from a small probabilistic grammar of English-like sentences
("the red cats that see a dog run near the house") with number agreement
between a subject and its verb, also across a relative clause and any number
of adjectives. The grammar is a *deterministic* probabilistic automaton: from
each state every word leads to exactly one next state, so the state is a
function of the text so far, and the best possible language model predicts
word `t` with the grammar's own distribution `p(w | s_t)`. Its per-token
entropy (entropy rate, nats) is therefore exact:

    H = sum_s pi(s) * H(p(. | s)),      pi = pi T  (stationary distribution)

and `exp(H)` is the perplexity floor that no model can beat on a long sample
(`<eos>`, written as a line end, counts as a token, as in PTB).

    from awdrnn.data import synthetic_corpus
    info = synthetic_corpus.generate_corpus("runs/demo/data", seed=1)
    print(info["perplexity_floor"])      # 8.77; train.txt, valid.txt, test.txt

Generation is deterministic given the seed and the sizes; files are written
atomically and reused when the folder already holds the same corpus.
"""

import json
import math
import os

import numpy as np

from awdrnn.data.corpus import EOS

VERSION = 1

_NOUNS = [("cat", "cats"), ("dog", "dogs"), ("man", "men"), ("woman", "women"),
          ("child", "children"), ("bird", "birds"), ("house", "houses"),
          ("tree", "trees"), ("car", "cars"), ("city", "cities"), ("river", "rivers"),
          ("teacher", "teachers"), ("farmer", "farmers"), ("horse", "horses"),
          ("book", "books"), ("king", "kings"), ("queen", "queens"),
          ("friend", "friends"), ("boat", "boats"), ("garden", "gardens")]
_ADJECTIVES = ["big", "small", "red", "old", "young", "green", "happy", "quiet",
               "tall", "dark", "bright", "strange"]
_TRANSITIVE = [("sees", "see"), ("likes", "like"), ("finds", "find"),
               ("follows", "follow"), ("watches", "watch"), ("helps", "help"),
               ("knows", "know"), ("loves", "love"), ("visits", "visit"),
               ("carries", "carry")]
_INTRANSITIVE = [("runs", "run"), ("sleeps", "sleep"), ("sings", "sing"),
                 ("waits", "wait"), ("falls", "fall"), ("smiles", "smile")]
_PREPOSITIONS = ["near", "with", "behind", "under", "beside"]
# determiner -> (probability, number it imposes on the noun: sg, pl or any)
_DETERMINERS = {"the": (0.5, "any"), "a": (0.25, "sg"), "some": (0.1, "pl"),
                "many": (0.15, "pl")}


def _zipf(words, total):
    weights = 1.0 / np.arange(1, len(words) + 1)
    return [(w, total * p) for w, p in zip(words, weights / weights.sum())]


class Grammar:
    """A deterministic probabilistic automaton over words.

    Args:
      table: `{state: [(word, prob, next_state), ...]}`; the probabilities of a
        state sum to 1 and its words are distinct. `start` must be a state.
    """

    def __init__(self, table, start):
        self.table = table
        self.start = start
        self.states = sorted(table)
        for state, options in table.items():
            words = [w for w, _, _ in options]
            if len(set(words)) != len(words):
                raise ValueError(f"state {state!r} emits a word twice (not deterministic).")
            total = sum(p for _, p, _ in options)
            if abs(total - 1.0) > 1e-9:
                raise ValueError(f"probabilities of state {state!r} sum to {total}, not 1.")
            for _, _, nxt in options:
                if nxt not in table:
                    raise ValueError(f"state {state!r} leads to unknown state {nxt!r}.")
        self._lookup = {s: {w: (math.log(p), n) for w, p, n in opts} for s, opts in table.items()}

    @property
    def vocabulary(self):
        return sorted({w for opts in self.table.values() for w, _, _ in opts})

    def transition_matrix(self):
        """`T[i, j]` = probability of moving from state i to state j."""
        pos = {s: i for i, s in enumerate(self.states)}
        t = np.zeros((len(self.states), len(self.states)))
        for s, opts in self.table.items():
            for _, p, nxt in opts:
                t[pos[s], pos[nxt]] += p
        return t

    def stationary(self):
        """Stationary distribution `pi` (`pi T = pi`, `sum pi = 1`), by states."""
        t = self.transition_matrix()
        n = len(t)
        a = np.vstack([t.T - np.eye(n), np.ones((1, n))])
        b = np.concatenate([np.zeros(n), [1.0]])
        return np.linalg.lstsq(a, b, rcond=None)[0]

    def state_entropies(self):
        return np.array([-sum(p * math.log(p) for _, p, _ in self.table[s])
                         for s in self.states])

    def entropy_rate(self):
        """Exact per-token entropy in nats: `sum_s pi(s) H(p(. | s))`."""
        return float(self.stationary() @ self.state_entropies())

    def sample(self, num_tokens, rng, finish_sentence=False):
        """`num_tokens` tokens (`EOS` marks sentence ends), from the start state.

        With `finish_sentence`, sampling goes on until the last token is `EOS`.
        """
        tables = {}
        for s, opts in self.table.items():
            tables[s] = ([w for w, _, _ in opts], np.cumsum([p for _, p, _ in opts]),
                         [n for _, _, n in opts])
        state, out = self.start, []
        while len(out) < num_tokens or (finish_sentence and out[-1] != EOS):
            for u in rng.random_sample(max(num_tokens - len(out), 1)):
                words, cum, nexts = tables[state]
                k = min(int(np.searchsorted(cum, u, side="right")), len(words) - 1)
                out.append(words[k])
                state = nexts[k]
        return out

    def log_probs(self, tokens):
        """`log p(token_t | history)` under the grammar, starting at `start`.

        Raises:
          ValueError: a token the grammar cannot emit at that point.
        """
        state, out = self.start, np.empty(len(tokens))
        for t, word in enumerate(tokens):
            entry = self._lookup[state].get(word)
            if entry is None:
                raise ValueError(f"token {t} ({word!r}) is impossible in state {state!r}.")
            out[t], state = entry
        return out


def english_grammar():
    """The default grammar (95 words)."""
    table = {"S": [(d, p, f"NP_S_{num}") for d, (p, num) in _DETERMINERS.items()]}

    def noun_phrase(prefix, after):
        # prefix_{detnum}: adjectives loop; the noun fixes the number.
        for detnum in ("any", "sg", "pl"):
            opts = [(w, p, f"{prefix}_{detnum}") for w, p in _zipf(_ADJECTIVES, 0.25)]
            nouns = []
            if detnum in ("any", "sg"):
                nouns += [(sg, "sg") for sg, _ in _NOUNS]
            if detnum in ("any", "pl"):
                nouns += [(pl, "pl") for _, pl in _NOUNS]
            # Zipf over the lemma; singular and plural share a lemma's mass.
            lemma_p = dict(_zipf([sg for sg, _ in _NOUNS], 0.75))
            lemma_of = {f: sg for sg, pl in _NOUNS for f in (sg, pl)}
            share = 2 if detnum == "any" else 1
            opts += [(w, lemma_p[lemma_of[w]] / share, after(num)) for w, num in nouns]
            table[f"{prefix}_{detnum}"] = opts

    def verbs(num, trans_p, trans_next, intrans_next):
        col = 0 if num == "sg" else 1
        if trans_p == 1.0:
            return [(w, p, trans_next) for w, p in _zipf([v[col] for v in _TRANSITIVE], 1.0)]
        return ([(w, p, trans_next) for w, p in _zipf([v[col] for v in _TRANSITIVE], trans_p)]
                + [(w, p, intrans_next) for w, p in
                   _zipf([v[col] for v in _INTRANSITIVE], 1.0 - trans_p)])

    noun_phrase("NP_S", lambda num: f"N_{num}")
    for num in ("sg", "pl"):
        table[f"N_{num}"] = ([("that", 0.2, f"RC_{num}")]
                             + [(w, 0.8 * p, n) for w, p, n in verbs(num, 0.6, "O", "E")])
        table[f"RC_{num}"] = verbs(num, 1.0, f"RCD_{num}", "E")
        table[f"RCD_{num}"] = [(d, p, f"RCNP_{num}_{dn}") for d, (p, dn) in _DETERMINERS.items()]
        noun_phrase(f"RCNP_{num}", lambda _, num=num: f"M_{num}")
        table[f"M_{num}"] = verbs(num, 0.6, "O", "E")
    table["O"] = [(d, p, f"ONP_{dn}") for d, (p, dn) in _DETERMINERS.items()]
    noun_phrase("ONP", lambda _: "E")
    table["E"] = [(EOS, 0.6, "S")] + [(w, p, "O") for w, p in _zipf(_PREPOSITIONS, 0.4)]
    return Grammar(table, "S")


def _write_text(path, tokens):
    lines, words = [], []
    for word in tokens:
        if word == EOS:
            lines.append(" ".join(words))
            words = []
        else:
            words.append(word)
    if words:
        raise ValueError("text must end with EOS")
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def generate_corpus(folder, seed=1, train_tokens=200_000, valid_tokens=20_000,
                    test_tokens=20_000):
    """Writes `train.txt`, `valid.txt`, `test.txt` and `corpus.json` into `folder`.

    Each split is an independent sample from the start state; splits end at a
    sentence boundary (sampling continues to the next `<eos>`).

    Returns:
      dict with `entropy_nats` (per token), `perplexity_floor` (`exp` of it),
      `valid_true_ppl` / `test_true_ppl` (the grammar's own perplexity on the
      written files), the arguments, and `folder`. Read from `corpus.json` when
      the folder already holds a corpus made with the same arguments.
    """
    params = {"version": VERSION, "seed": int(seed), "train_tokens": int(train_tokens),
              "valid_tokens": int(valid_tokens), "test_tokens": int(test_tokens)}
    meta_path = os.path.join(folder, "corpus.json")
    if os.path.isfile(meta_path):
        with open(meta_path, encoding="utf-8") as f:
            info = json.load(f)
        if info.get("params") == params and all(
                os.path.isfile(os.path.join(folder, f"{s}.txt")) for s in ("train", "valid", "test")):
            return info
    os.makedirs(folder, exist_ok=True)
    grammar = english_grammar()
    rng = np.random.RandomState(seed)
    info = {"params": params, "folder": folder, "entropy_nats": grammar.entropy_rate(),
            "vocab_size": len(grammar.vocabulary)}
    info["perplexity_floor"] = math.exp(info["entropy_nats"])
    for split in ("train", "valid", "test"):
        tokens = grammar.sample(params[f"{split}_tokens"], rng, finish_sentence=True)
        _write_text(os.path.join(folder, f"{split}.txt"), tokens)
        if split != "train":
            info[f"{split}_true_ppl"] = math.exp(-grammar.log_probs(tokens).mean())
    tmp = f"{meta_path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1)
    os.replace(tmp, meta_path)
    return info
