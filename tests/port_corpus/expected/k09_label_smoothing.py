import keras
import torch

model = keras.Sequential([keras.layers.Dense(5)])
# lossbridge port: the loss of the compile() below
criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1))
