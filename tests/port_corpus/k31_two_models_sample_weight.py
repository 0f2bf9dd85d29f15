# two models in one script: which one does fit(sample_weight=...) train? port does not guess
import keras

encoder.compile(optimizer="adam", loss="mse")
classifier.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
classifier.fit(x, y, sample_weight=w)
