import keras
from keras import layers
import torch

model = keras.Sequential([layers.Dense(16, activation="relu"), layers.Dense(1)])
# lossbridge port: the loss of the compile() below
criterion = torch.nn.BCEWithLogitsLoss()
model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
