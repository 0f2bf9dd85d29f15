import keras
import torch

# lossbridge port: the loss of the compile() below
criterion = torch.nn.HuberLoss(delta=2.0)
model.compile(optimizer="adam", loss=keras.losses.Huber(delta=2.0))  # robust regression
