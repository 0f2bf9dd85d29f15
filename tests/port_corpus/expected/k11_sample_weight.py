import keras
import torch

# lossbridge port: the loss of the compile() below
criterion = torch.nn.MSELoss()
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, sample_weight=w)
