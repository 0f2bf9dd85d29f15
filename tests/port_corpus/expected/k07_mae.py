import keras
import torch

# lossbridge port: the loss of the compile() below
criterion = torch.nn.L1Loss()
model.compile(optimizer="adam", loss=keras.losses.MeanAbsoluteError())
