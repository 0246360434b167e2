"""ULMFiT layer groups of a language model's variables, from their names.

Discriminative learning rates and gradual unfreezing (Howard & Ruder 2018,
section 3.2 and 3.3) act on *layer groups*. The split follows fastai v1's
`awd_lstm_lm_split`: one group per recurrent layer, bottom to top, then one
group holding the embedding together with the decoder (`softmax_w` when
untied, and `softmax_b`): the tied embedding is the decoder's weight, so
fastai trains both with the top group's rate. `embedding_last=False` puts
that group first instead (fastai's `awd_lstm_clas_split` order, for an
encoder under a task head).

    group 0 .. L-1:  <scope>/layer<l>/...             (LSTM or QRNN layer l)
    group L:         <scope>/embedding, <scope>/softmax_w, <scope>/softmax_b

    import tensorflow as tf
    from awdrnn.lm import graph as lm_graph, model as lm_model
    from awdrnn.training import layer_groups

    g = lm_graph.LMGraph(lm_model.LMConfig(vocab_size=50, emsize=8, nhid=16, nlayers=2))
    groups = layer_groups.lm_layer_groups(g.model_vars)
    print([group.name for group in groups])   # ['layer0', 'layer1', 'embedding']
"""

import collections
import re

LayerGroup = collections.namedtuple("LayerGroup", ["name", "variables"])
LayerGroup.__doc__ = "A layer group: its `name` and its list of `variables`."

EMBEDDING_GROUP = "embedding"
_EMBEDDING_NAMES = ("embedding", "softmax_w", "softmax_b")


def variable_name(variable):
    """The variable's name without the `:0` suffix (`lm/layer0/lstm_cell/kernel`)."""
    return variable.op.name if hasattr(variable, "op") else variable.name.split(":")[0]


def lm_layer_groups(variables, scope="lm", embedding_last=True):
    """Splits a language model's variables into ULMFiT layer groups.

    Args:
      variables: the model's variables (e.g. `LMGraph.model_vars`), named as
        `lm_model.LanguageModel` names them under `scope`.
      scope: the model's variable scope.
      embedding_last: True (fastai's LM split): groups `layer0 .. layer<L-1>`,
        then `embedding` (embedding + decoder), the top group. False: the
        `embedding` group first, then the layers (classifier order).

    Returns:
      list of `LayerGroup(name, variables)`, lowest group first; variables
      keep their order of `variables` within a group.

    Raises:
      ValueError: a variable matches no group (the message names it), the
        layer numbers are not 0..L-1, or no embedding variable.
    """
    prefix = re.escape(scope.rstrip("/")) + "/" if scope else ""
    layer_re = re.compile(f"^{prefix}layer(\\d+)/")
    embedding_re = re.compile(f"^{prefix}({'|'.join(_EMBEDDING_NAMES)})$")
    layers = collections.defaultdict(list)
    embedding = []
    for v in variables:
        name = variable_name(v)
        match = layer_re.match(name)
        if match:
            layers[int(match.group(1))].append(v)
        elif embedding_re.match(name):
            embedding.append(v)
        else:
            raise ValueError(
                f"variable {name!r} belongs to no layer group: expected "
                f"'{scope}/layer<l>/...' or '{scope}/' + one of {list(_EMBEDDING_NAMES)} "
                f"(is scope={scope!r} the model's variable scope?)")
    if not embedding:
        raise ValueError(f"no embedding variable '{scope}/embedding' among the variables.")
    if sorted(layers) != list(range(len(layers))):
        raise ValueError(f"recurrent layers under {scope!r} are numbered {sorted(layers)}; "
                         f"expected 0..{len(layers) - 1} (a variable list missing a layer?)")
    groups = [LayerGroup(f"layer{l}", layers[l]) for l in range(len(layers))]
    top = LayerGroup(EMBEDDING_GROUP, embedding)
    return groups + [top] if embedding_last else [top] + groups
