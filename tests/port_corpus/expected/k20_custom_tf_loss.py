# a custom loss that calls TensorFlow: reported, not rewritten
import tensorflow as tf


def weighted_mse(y_true, y_pred):
    return tf.reduce_mean(tf.square(y_true - y_pred) * 2.0, axis=-1)


model.compile(optimizer="adam", loss=weighted_mse)
