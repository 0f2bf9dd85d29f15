import keras
from keras import layers

inputs = keras.Input(shape=(32,))
x = layers.Dense(10)(inputs)
outputs = layers.Softmax()(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
