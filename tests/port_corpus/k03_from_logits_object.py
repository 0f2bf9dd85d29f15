import keras

model = keras.Sequential([keras.layers.Dense(10)])  # logits
loss_fn = None
model.compile(
    optimizer=keras.optimizers.Adam(1e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
