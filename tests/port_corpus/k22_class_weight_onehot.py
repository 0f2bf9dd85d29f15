"""Imbalanced classes, one-hot targets: Keras' class_weight follows the argmax of the target."""
import keras
from keras.utils import to_categorical

model = keras.Sequential([
    keras.Input(shape=(20,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(4, activation="softmax"),  # 4 classes
])
model.compile(optimizer="adam", loss="categorical_crossentropy")
y_onehot = to_categorical(y, 4)
model.fit(x, y_onehot, batch_size=16, class_weight={0: 0.5, 1: 2.0, 3: 4.0}, epochs=3)
