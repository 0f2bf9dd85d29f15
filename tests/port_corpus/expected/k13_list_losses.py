import keras
import lossbridge
import torch

# lossbridge port: the loss of the compile() below
criterion_0 = lossbridge.to_torch_module(lossbridge.keras.BinaryCrossentropy())
criterion_1 = torch.nn.MSELoss()
model.compile(optimizer="adam", loss=["binary_crossentropy", keras.losses.MeanSquaredError()], loss_weights=[1.0, 0.2])
