"""Graph inspection shared by the tests: which seeded random ops share an op seed."""


def random_op_seeds(graph):
    """`{op seed: set of ops}` of the seeded random ops, also inside cond branches."""
    seeds = {}
    nodes = [(op.name, op.node_def) for op in graph.get_operations()]
    for f in graph.as_graph_def().library.function:
        base = f.signature.name.replace("_rewritten", "")  # gradient copies of a branch
        nodes += [(f"{base}/{n.name}", n) for n in f.node_def]
    for name, node in nodes:
        if node.op.startswith("Random") and node.attr["seed2"].i:
            seeds.setdefault(node.attr["seed2"].i, set()).add(name)
    return seeds
