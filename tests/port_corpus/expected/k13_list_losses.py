import keras
import lossbridge
import torch

# lossbridge port: the loss of the compile() below
criterion_0 = lossbridge.to_torch_module(lossbridge.keras.BinaryCrossentropy())
criterion_1 = torch.nn.MSELoss()


def total_loss(outputs, targets):  # compile(loss_weights=...): Keras' total, sum of weighted losses
    return 1.0 * criterion_0(outputs[0], targets[0]) + 0.2 * criterion_1(outputs[1], targets[1])


model.compile(optimizer="adam", loss=["binary_crossentropy", keras.losses.MeanSquaredError()], loss_weights=[1.0, 0.2])
