import keras
import torch

# lossbridge port: the loss of the compile() below
criterion = torch.nn.MSELoss()
model.compile(optimizer="adam", loss=keras.losses.mean_squared_error)
