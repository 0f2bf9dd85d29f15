import keras
from keras.utils import to_categorical
import torch

y_train = to_categorical(y_train, 10)
model = keras.Sequential([keras.layers.Dense(10)])
# lossbridge port: the loss of the compile() below
criterion = torch.nn.CrossEntropyLoss()
model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
