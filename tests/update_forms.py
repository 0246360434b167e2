"""The forms in which TF1 programs pass on the value of `get_vd_update_op()` /
`get_update_mask_op()` (the TF1 AWD-LSTM cell returned a list of ops): each
maps the value to what goes into `tf.control_dependencies(...)`."""

import tensorflow as tf

UPDATE_FORMS = {
    "x": lambda update: update,                  # with tf.control_dependencies(update):
    "[x]": lambda update: [update],              # with tf.control_dependencies([update]):
    "tf.group(x)": lambda update: [tf.group(update)],
    "[*x]": lambda update: [*update],            # its ops spliced into a list
}
