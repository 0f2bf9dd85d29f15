"""Two heads, no loss_weights: Keras sums the losses with weight 1."""
import keras
import torch

inputs = keras.Input(shape=(32,))
h = keras.layers.Dense(16, activation="relu")(inputs)
age = keras.layers.Dense(1, name="age")(h)
kind = keras.layers.Dense(3, name="kind")(h)
model = keras.Model(inputs, {"age": age, "kind": kind})
# lossbridge port: the loss of the compile() below
criterion_age = torch.nn.L1Loss()
criterion_kind = torch.nn.CrossEntropyLoss()


def total_loss(outputs, targets):  # compile(loss_weights=...): Keras' total, sum of weighted losses
    return 1.0 * criterion_age(outputs['age'], targets['age']) + 1.0 * criterion_kind(outputs['kind'], targets['kind'])


model.compile(
    optimizer="adam",
    loss={"age": keras.losses.MeanAbsoluteError(), "kind": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
)
