"""Tutorial style: the class weights are a dict literal bound to a name, then passed to fit."""
import keras

NUM_CLASSES = 3
class_weight = {0: 1.0, 1: 2.5, 2: 0.75}

model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(3, activation="softmax")])
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
history = model.fit(x, y, batch_size=4, class_weight=class_weight, epochs=10)
