import keras

model.compile(
    optimizer="adam",
    loss={"digit": "sparse_categorical_crossentropy", "box": "mse"},
    loss_weights={"digit": 1.0, "box": 0.5},
)
