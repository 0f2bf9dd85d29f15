"""Keras tutorial style: MNIST MLP with a softmax head."""
import keras
from keras import layers
import torch

model = keras.Sequential([
    keras.Input(shape=(784,)),
    layers.Dense(128, activation="relu"),
    layers.Dense(10),
])
# lossbridge port: the loss of the compile() below
criterion = torch.nn.CrossEntropyLoss()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=5)
