import keras
import torch

model = keras.Sequential([keras.layers.Dense(10)])  # logits
loss_fn = None
# lossbridge port: the loss of the compile() below
criterion = torch.nn.CrossEntropyLoss()
model.compile(
    optimizer=keras.optimizers.Adam(1e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
