import keras
import torch

# lossbridge port: the loss of the compile() below
criterion_0 = torch.nn.MSELoss()
criterion_1 = torch.nn.L1Loss()
model.compile(optimizer="adam", loss=["mse", "mae"], loss_weights=schedule.weights())
