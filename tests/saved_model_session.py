"""A SavedModel loaded into a TF1 session of its own graph (both TF worlds), as a
TF1 program of our users serves one: `tf.compat.v1.saved_model.loader.load`."""

import numpy as np
import tensorflow as tf


class SavedModelSession:
    """`SavedModelSession(path)(signature, **inputs)` -> `{output: NumPy value}`
    (string outputs decoded to nested lists of str)."""

    def __init__(self, path):
        self.graph = tf.Graph()
        self.sess = tf.compat.v1.Session(graph=self.graph)
        with self.graph.as_default():
            self.meta = tf.compat.v1.saved_model.loader.load(self.sess, ["serve"], path)

    def __call__(self, signature, **inputs):
        sig = self.meta.signature_def[signature]
        feed = {sig.inputs[k].name: v for k, v in inputs.items()}
        out = self.sess.run({k: v.name for k, v in sig.outputs.items()}, feed)
        return {k: np.vectorize(bytes.decode, otypes=[object])(v).tolist()
                if v.dtype == object else v for k, v in out.items()}
