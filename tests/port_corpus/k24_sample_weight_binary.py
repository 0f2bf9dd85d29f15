import keras
from keras import layers

model = keras.Sequential([layers.Dense(8, activation="relu"), layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy())
# per-example weights, e.g. from annotation confidence
model.fit(x, y, sample_weight=confidence, batch_size=32)
