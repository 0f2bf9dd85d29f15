import tensorflow as tf
import torch

model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
# lossbridge port: the loss of the compile() below
criterion = torch.nn.BCEWithLogitsLoss()
model.compile(optimizer="adam", loss=tf.keras.losses.BinaryCrossentropy(from_logits=True))
