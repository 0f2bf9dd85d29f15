# two models in one script: which one does fit(sample_weight=...) train? port does not guess
import keras
import torch

# lossbridge port: the loss of the compile() below
criterion = torch.nn.MSELoss()
encoder.compile(optimizer="adam", loss="mse")
# lossbridge port: the loss of the compile() below
criterion = torch.nn.CrossEntropyLoss()
classifier.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
classifier.fit(x, y, sample_weight=w)
