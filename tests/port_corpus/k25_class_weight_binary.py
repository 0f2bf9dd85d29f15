"""Fraud detection style: a rare positive class gets a larger weight."""
import keras

model = keras.Sequential([keras.layers.Dense(1)])  # logits
model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
model.fit(x, y, class_weight={0: 1.0, 1: 10.0}, batch_size=128)
