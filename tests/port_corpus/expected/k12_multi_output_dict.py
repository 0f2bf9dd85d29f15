import keras
import lossbridge
import torch

# lossbridge port: the loss of the compile() below
criterion_digit = lossbridge.to_torch_module(lossbridge.keras.SparseCategoricalCrossentropy())
criterion_box = torch.nn.MSELoss()


def total_loss(outputs, targets):  # compile(loss_weights=...): Keras' total, sum of weighted losses
    return 1.0 * criterion_digit(outputs['digit'], targets['digit']) + 0.5 * criterion_box(outputs['box'], targets['box'])


model.compile(
    optimizer="adam",
    loss={"digit": "sparse_categorical_crossentropy", "box": "mse"},
    loss_weights={"digit": 1.0, "box": 0.5},
)
