import keras
from keras.utils import to_categorical

y_train = to_categorical(y_train, 10)
model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
