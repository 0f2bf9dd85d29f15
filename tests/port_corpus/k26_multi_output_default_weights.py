"""Two heads, no loss_weights: Keras sums the losses with weight 1."""
import keras

inputs = keras.Input(shape=(32,))
h = keras.layers.Dense(16, activation="relu")(inputs)
age = keras.layers.Dense(1, name="age")(h)
kind = keras.layers.Dense(3, name="kind")(h)
model = keras.Model(inputs, {"age": age, "kind": kind})
model.compile(
    optimizer="adam",
    loss={"age": keras.losses.MeanAbsoluteError(), "kind": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
)
