import keras
from keras import layers
from torch import nn
import torch

inputs = keras.Input(shape=(32,))
x = layers.Dense(10)(inputs)
outputs = nn.Identity()(x)
model = keras.Model(inputs, outputs)
# lossbridge port: the loss of the compile() below
criterion = torch.nn.CrossEntropyLoss()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
