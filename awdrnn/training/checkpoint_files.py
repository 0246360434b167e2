"""Checkpoint files written from NumPy arrays, and folders published atomically.

    import os, tempfile
    import numpy as np
    from awdrnn.training import checkpoint_files
    out = os.path.join(tempfile.mkdtemp(), "run")
    checkpoint_files.publish_folder(out, lambda tmp: checkpoint_files.write_variables(
        os.path.join(tmp, "model"), {"lm/embedding": np.ones([3, 2], np.float32)}))

`write_variables` writes a name-based checkpoint that `tf.compat.v1.train.Saver`
(and `tf.train.load_checkpoint`) reads; `publish_folder` builds a folder under
a temporary name and renames it into place, so it appears complete or not at
all (as `checkpoints.CheckpointStore` does for checkpoint folders).
`check_checkpoint_shapes` and `restore_variables` read such checkpoints back
into a graph's variables, shapes checked first (any task's model, not only
language models: `awdrnn.training.loop` restores through them).
"""

import os
import shutil

import numpy as np
import tensorflow as tf

from awdrnn.training import checkpoints
from awdrnn.lm.errors import CheckpointMismatch


def write_variables(prefix, tensors):
    """Writes `{name: array}` as a `tf.compat.v1.train.Saver` checkpoint at `prefix`."""
    with tf.Graph().as_default() as graph:
        feeds, variables = {}, {}
        for name, value in tensors.items():
            value = np.asarray(value)
            ph = tf.compat.v1.placeholder(tf.as_dtype(value.dtype), value.shape)
            variables[name] = tf.compat.v1.Variable(ph, name="v", trainable=False)
            feeds[ph] = value
        saver = tf.compat.v1.train.Saver(variables, save_relative_paths=True)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer(), feeds)
            saver.save(sess, prefix, write_meta_graph=False, write_state=False)


def publish_folder(out_dir, write_fn):
    """Runs `write_fn(tmp)` and renames `tmp` to `out_dir` (absent or empty).

    Nothing is left at `out_dir` when `write_fn` fails.

    Raises:
      ValueError: `out_dir` exists and is not an empty folder.
    """
    out_dir = os.path.normpath(out_dir)
    if os.path.exists(out_dir) and not (os.path.isdir(out_dir) and not os.listdir(out_dir)):
        raise ValueError(f"output folder {out_dir!r} already exists and is not empty; "
                         "choose a new folder or delete it.")
    tmp = f"{out_dir}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        write_fn(tmp)
        checkpoints._fsync_tree(tmp)  # noqa: SLF001 (the same flush as CheckpointStore)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if os.path.isdir(out_dir):
        os.rmdir(out_dir)
    os.replace(tmp, out_dir)
    return out_dir


def check_checkpoint_shapes(prefix, variables, what="checkpoint"):
    """Raises CheckpointMismatch unless `prefix` holds every variable with its shape.

    (A v1 `Saver` restoring resource variables does not check shapes itself.)
    """
    try:
        saved = dict(tf.train.list_variables(prefix))
    except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError) as e:
        first = str(e).strip().splitlines()[0][:300]
        raise CheckpointMismatch(f"cannot read {what} {prefix!r}: {first}") from None
    for v in variables:
        name, shape = v.op.name, v.shape.as_list()
        if name not in saved:
            raise CheckpointMismatch(
                f"{what} {prefix!r} does not match this model: it has no variable {name}.")
        if list(saved[name]) != shape:
            raise CheckpointMismatch(
                f"{what} {prefix!r} does not match this model: {name} has shape "
                f"{list(saved[name])} there but {shape} here.")


def restore_variables(session, saver, variables, folder, what="checkpoint"):
    """`saver.restore` from `<folder>/model`, shapes checked first.

    Raises:
      CheckpointMismatch: variables missing or of another shape.
    """
    check_checkpoint_shapes(os.path.join(folder, "model"), variables, what)
    try:
        saver.restore(session, os.path.join(folder, "model"))
    except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError, ValueError) as e:
        first = str(e).strip().splitlines()[0][:300]
        raise CheckpointMismatch(
            f"{what} {folder!r} does not match this model's shape: {first}") from None
