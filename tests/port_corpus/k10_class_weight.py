# forum question: why does class_weight give a different loss in torch?
import keras

model = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(x, y, class_weight={0: 1.0, 1: 5.0, 2: 1.0}, epochs=2)
