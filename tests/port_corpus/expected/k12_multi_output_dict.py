import keras
import lossbridge
import torch

# lossbridge port: the loss of the compile() below
criterion_digit = lossbridge.to_torch_module(lossbridge.keras.SparseCategoricalCrossentropy())
criterion_box = torch.nn.MSELoss()
model.compile(
    optimizer="adam",
    loss={"digit": "sparse_categorical_crossentropy", "box": "mse"},
    loss_weights={"digit": 1.0, "box": 0.5},
)
